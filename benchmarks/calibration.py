"""Calibration suite: do "hotspot" and "significant fall" hold their error rates on realistic data?

Run: ``python -m benchmarks.calibration`` (about 8 minutes on 2 cores; the README's table uses
``--reps 80``, about 13 minutes; ``--quick`` for a smaller run, ``--reps N`` to set the maps per density
(data sets per change scenario: half of it), ``--real-only`` for the police.uk figures, ``--national``
for the placebo on every force's 2025 files). It prints
one table of false-alarm rates and power per method, old default vs new, and the real-data figures.

Simulations (every random step seeded):

* **Null maps** — incidents uniform over a 20 km square (no hotspot exists), 300 to 30,000 a year,
  analysed with the library's defaults (automatic cell size and distance band): share of maps
  with any hotspot area. Old default: analytic normal p-values, FDR, areas at 90 %.
* **Null maps, product path** — the same through ``prepare_inputs`` + ``hotspot_stage`` (the CLI's
  and the app's path: the study area is the incidents' footprint, or a boundary file), over a
  20 km and a 5 km square, an L-shaped square, within the Derbyshire county boundary (its hole,
  Derby City, empty) and over the same outline without a boundary (the footprint fills the hole).
* **Compact cluster** — 25 incidents within about 100 m added to a sparse null map (300 and
  1,000 a year): share of maps where a hotspot area covers the cluster.
* **Change** — a 20 km square with uniform background (3,000 a year) and 20 hotspots (compact
  Gaussian blobs, 15–100 incidents a month each) over 36 months: a selection year (hotspots are
  chosen from it, outside the compared periods), a before year and an after year. Each hotspot's
  rate varies from year to year and month to month by log-normal factors; "realistic" uses the
  issue's 12 % and 15 %, close to what the real 2025 files show (see the real-data section),
  "Poisson" none. Half the hotspots fall by 15 % or 30 % in the after year, or none do. The
  periods are compared with the library's defaults; a hotspot area counts as treated when it
  covers a treated hotspot's centre. Reported: share of untreated hotspot areas flagged, of
  treated ones found (one by one), of data sets whose pooled "all hotspot areas" verdict is a
  significant fall, and of tested cells flagged under no change; "hotspots in areas" is the
  share of the 20 simulated hotspots whose centre lies in a hotspot area. Old default: the exact
  Poisson test with FDR. "no placebo" drops the selection year (hotspots then come from both
  compared periods together, the new default's fall-back); "areas at 90 %" uses the app's and
  CLI's ``min_confidence`` instead of the library's (the Gi* alpha).
* **Change, product path** — the same simulations through ``prepare_inputs`` + ``analyse`` with
  default settings and the before/after years given (what ``hotspots analyse --before ... --after
  ...`` does): automatic study area, cell size and distance band, hotspots from all months.
* **Emerging hot spots** — null space-time cubes (Poisson counts, 24 months): share of cells
  with a significant Mann–Kendall trend, time window 1 (ArcGIS's default) with and without the
  correction. Then the change simulation's three years as a cube (:func:`emerging_year_to_year`):
  hotspots varying from year to year with no trend, or half of them growing: share of their
  cells with a trend, ours against the test with the time-window correction alone. And the
  categories themselves (:func:`emerging_patterns`): random cubes at 300-30,000 incidents a year,
  an uneven background with no clustering and small steady hotspots, bins judged by the exact count
  test against the normal p.

Real data (``../shared/data/police_uk``, skipped when absent): Derbyshire and Leicestershire 2025
through ``prepare_inputs`` + ``analyse`` with default settings (before Jan–Jun, after Jul–Dec):
dispersion estimates and how they were obtained, hotspot areas (old / new default), the number
each method calls significant changes, the pooled verdicts, and the time of ``analyse()``; and
emerging hot spots on the same files with their months shuffled (:func:`emerging_month_permutations`).
``--national``: the same half-years for every force of the national set (:func:`national_placebo`).
``--month-shuffle [DRAWS]``: every force's twelve months, any six drawn into "before" (nothing was
done): hotspot areas and cells called changes, per force and in total with 95 % intervals
(:func:`national_month_shuffle` with ``pairs=False``).
"""

from __future__ import annotations

import argparse
import time
import warnings
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots import Grid, count, gi_star
from hotspots.areas import hotspot_areas
from hotspots.change import Period, change_areas, change_cells
from hotspots.change_summary import summarise_change
from hotspots.emerging import CATEGORY_LABELS, emerging_hotspots

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "police_uk"
SIDE = 20_000.0


# ----------------------------------------------------------------------------- maps
def null_maps(reps: int, rng: np.random.Generator) -> list[dict]:
    rows = []
    for n in (300, 1_000, 3_000, 10_000, 30_000):
        hits = {"new": 0, "old": 0}
        cluster = {"new": 0, "old": 0}
        for _ in range(reps):
            xy = rng.uniform(0, SIDE, (n, 2))
            g = Grid.for_points(xy)
            c = count(xy, g)
            hits["new"] += hotspot_areas(gi_star(c, None)).n_areas > 0
            hits["old"] += hotspot_areas(gi_star(c, None, inference="normal"), min_confidence=0.90).n_areas > 0
            if n <= 1_000:
                centre = rng.uniform(2_000, SIDE - 2_000, 2)
                xy2 = np.r_[xy, centre + rng.normal(0, 100, (25, 2))]
                g2 = Grid.for_points(xy2)
                c2 = count(xy2, g2)
                r, col, _ = g2.cell_of(centre[None])
                for name, kw, conf in (("new", {}, None), ("old", {"inference": "normal"}, 0.90)):
                    a = hotspot_areas(gi_star(c2, None, **kw), min_confidence=conf)
                    cluster[name] += bool(a.labels[r[0], col[0]] > 0)
        rows.append({"incidents": n, "maps with hotspots (new)": hits["new"] / reps, "(old)": hits["old"] / reps,
                     "cluster found (new)": cluster["new"] / reps if n <= 1_000 else np.nan,
                     "cluster (old)": cluster["old"] / reps if n <= 1_000 else np.nan, "cell_m": g.cell_size})
    return rows


def _uniform_in(geom, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points placed uniformly at random in a polygon (rejection sampling)."""
    import shapely

    xmin, ymin, xmax, ymax = geom.bounds
    out: list[np.ndarray] = []
    while sum(len(o) for o in out) < n:
        p = rng.uniform([xmin, ymin], [xmax, ymax], (2 * n, 2))
        out.append(p[shapely.contains_xy(geom, p[:, 0], p[:, 1])])
    return np.vstack(out)[:n]


def null_maps_product(reps: int, rng: np.random.Generator, sizes=(300, 3_000, 30_000)) -> list[dict]:
    """Null maps through the product's own path (``prepare_inputs`` + ``hotspot_stage``, as the CLI
    and the app run them): the study area is then chosen automatically (the incidents' footprint)
    or from a boundary file, which :func:`null_maps` (a bare grid over the points) leaves out.

    Shapes: a 20 km and a 5 km square and an L (a 20 km square without its 12 km north-east
    quarter), no boundary given (the footprint, which fills the L's inner corner); when the shared
    data are present, the Derbyshire county outline given as the boundary (its hole, Derby City,
    holds no incident here) and the same outline without a boundary (the footprint fills Derby's
    hole with empty ground). Incidents uniform at random over the shape, dated over one year. The
    L and the outline without a boundary found hotspot areas on 30-50 % (the L, 3,000-30,000
    incidents) and 100 % (the outline, 30,000) of maps while the false discovery rate was adjusted
    over both sides together (empty ground's certain cold spots let chance hot ones through;
    :mod:`hotspots.fdr`).
    """
    import shapely

    from hotspots.pipeline import Settings, hotspot_stage, prepare_inputs

    shapes: dict[str, tuple[object, gpd.GeoDataFrame | None]] = {
        "20 km square, no boundary": (shapely.box(400_000, 300_000, 420_000, 320_000), None),
        "5 km square, no boundary": (shapely.box(400_000, 300_000, 405_000, 305_000), None),
        "L-shaped 20 km square, no boundary": (
            shapely.box(400_000, 300_000, 420_000, 320_000).difference(shapely.box(408_000, 308_000, 420_000, 320_000)), None
        ),
    }
    county = DATA / "boundaries" / "derbyshire_county_2012_bgc.geojson"
    if county.exists():
        b = gpd.read_file(county).to_crs(27700)
        shapes["Derbyshire county boundary (with Derby's hole)"] = (b.union_all(), b)
        shapes["Derbyshire's outline, no boundary (the footprint fills Derby's hole)"] = (b.union_all(), None)
    rows = []
    for name, (geom, boundary) in shapes.items():
        for n in sizes:
            hits, cells = 0, []
            for _ in range(reps):
                xy = _uniform_in(geom, n, rng)
                days = rng.integers(0, 365, n)
                inc = gpd.GeoDataFrame(
                    {"month": (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D")).to_period("M").to_timestamp(),
                     "category": "Anti-social behaviour"},
                    geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    prep = prepare_inputs(inc, settings=Settings(), boundary=boundary)
                    stage = hotspot_stage(prep.incidents, prep.settings, prep.study_area)
                hits += stage.areas.n_areas > 0
                cells.append(stage.grid.cell_size)
            rows.append({"shape": name, "incidents": n, "maps with hotspots": hits / reps, "cell_m": float(np.median(cells))})
    return rows


# ----------------------------------------------------------------------------- change
def _simulate(
    rng, *, fall: float, sd_year: float, sd_month: float, placebo: bool, H: int = 20, walk: bool = False, frac: float = 0.5,
    fall_from: int = 0, growth: float = 0.0, sd_shared: float = 0.0, displace: float = 0.0,
):
    """``walk``: year effects drift as a random walk (steps of ``sd_year``) instead of varying
    independently around a stable level. ``frac``: share of the hotspots that fall (half by default).
    ``fall_from``: month of the last year (0-11) from which the treated hotspots fall. ``growth``:
    the treated hotspots' rate grows steadily by this share over the whole period instead (a trend).
    ``sd_shared``: each month's rates, hotspots and background alike, times a shock shared by the
    whole square (log scale sd; weather, holidays: :data:`SHARED_SHOCK_SD` measured on the real
    files); drawn only when positive, so the other rows keep their draws. ``displace``: this share
    of the incidents a treated hotspot loses reappears uniformly in a ring 1,000-1,500 m from its
    centre (displacement next door: the hotspot areas found around these hotspots reach about 1 km
    from their centres, so about 60 % of it lands in their 500 m rings; drawn only when positive)."""
    years = 3 if placebo else 2
    centres = rng.uniform(2_000, SIDE - 2_000, (H, 2))
    base = rng.uniform(15, 100, H)
    treated = np.arange(H) < int(round(frac * H)) if fall > 0 or growth > 0 else np.zeros(H, bool)
    steps = rng.normal(0, sd_year, (H, years))
    ym = np.exp(np.cumsum(steps, axis=1) if walk else steps)
    frames = []
    for m in range(12 * years):
        month = pd.Timestamp("2022-01-01") + pd.DateOffset(months=m + (0 if placebo else 12))
        y = m // 12
        after = y == years - 1 and m % 12 >= fall_from
        untreated = base * ym[:, y] * np.exp(rng.normal(0, sd_month, H))
        lam = untreated * np.where(treated & after, 1 - fall, 1.0)
        shared = float(np.exp(rng.normal(0, sd_shared))) if sd_shared > 0 else 1.0
        lam = lam * shared
        if growth:
            lam = lam * np.where(treated, (1 + growth) ** (m / (12 * years - 1)), 1.0)
        k = rng.poisson(lam)
        pts = [centres[i] + rng.normal(0, 150, (k[i], 2)) for i in range(H)]
        if displace > 0:
            moved = rng.poisson(displace * (untreated - lam / shared) * shared)
            for i in np.flatnonzero(moved):
                r = np.sqrt(rng.uniform(1_000**2, 1_500**2, moved[i]))
                a = rng.uniform(0, 2 * np.pi, moved[i])
                pts.append(centres[i] + np.column_stack([r * np.cos(a), r * np.sin(a)]))
        bg = rng.uniform(0, SIDE, (rng.poisson(250 * shared), 2))
        xy = np.vstack(pts + [bg])
        frames.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "month": month}))
    df = pd.concat(frames, ignore_index=True)
    inc = gpd.GeoDataFrame({"month": df["month"]}, geometry=gpd.points_from_xy(df.x, df.y), crs=27700)
    return inc, centres, treated


def change_scenarios(reps: int, rng: np.random.Generator, only: tuple[str, ...] | None = None) -> list[dict]:
    scenarios = [
        ("realistic, no change", 0.0, 0.12, 0.15, True, None),
        ("realistic, half fall 30 %", 0.30, 0.12, 0.15, True, None),
        ("realistic, half fall 30 %, no placebo year", 0.30, 0.12, 0.15, False, None),
        ("realistic, no change, no placebo year", 0.0, 0.12, 0.15, False, None),
        ("Poisson, half fall 30 %", 0.30, 0.0, 0.0, True, None),
        ("Poisson, half fall 15 %", 0.15, 0.0, 0.0, True, None),
        ("realistic, no change, areas at 90 %", 0.0, 0.12, 0.15, True, 0.90),
        ("realistic, half fall 30 %, areas at 90 %", 0.30, 0.12, 0.15, True, 0.90),
    ]
    grid = Grid.from_bounds((0, 0, SIDE, SIDE), 250)
    rows = []
    for name, fall, sy, sm, placebo, conf in scenarios:
        if only is not None and name not in only:
            continue
        keys = ("untreated_new", "treated_new", "untreated_old", "treated_old", "pooled_new", "cells_new", "cells_old")
        found = []
        acc = {k: [] for k in keys}
        for _ in range(reps):
            inc, centres, treated = _simulate(rng, fall=fall, sd_year=sy, sd_month=sm, placebo=placebo)
            first = "2022-01" if placebo else "2023-01"
            before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
            sel = Period.from_months(first, "2022-12") if placebo else Period(before.start, after.end)
            chosen = inc[(inc["month"] >= pd.Timestamp(sel.start)) & (inc["month"] <= pd.Timestamp(sel.end))]
            areas = hotspot_areas(gi_star(count(chosen, grid), None), min_confidence=conf)
            if areas.n_areas == 0:
                continue
            r, c, on = grid.cell_of(centres)
            lab = np.where(on, areas.labels[r, c], 0)
            found.append(float((lab > 0).mean()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cells = change_cells(inc, grid, before, after)
                res = change_areas(inc, areas, before, after, tau2_fallback=cells.dispersion)
                old_a = change_areas(inc, areas, before, after, test="poisson", fdr=True)
                old_c = change_cells(inc, grid, before, after, test="poisson")
            ids = res.table["area_id"].to_numpy()
            is_t = np.isin(ids, lab[treated & (lab > 0)])
            new_f = res.table["significant"].to_numpy()
            old_f = old_a.table["significant"].to_numpy()
            if (~is_t).any():
                acc["untreated_new"].append(new_f[~is_t].mean())
                acc["untreated_old"].append(old_f[~is_t].mean())
            if is_t.any():
                acc["treated_new"].append((new_f[is_t] & (res.table["rate_ratio"].to_numpy()[is_t] < 1)).mean())
                acc["treated_old"].append((old_f[is_t] & (old_a.table["rate_ratio"].to_numpy()[is_t] < 1)).mean())
            summ = summarise_change(cells, res, areas.labels)
            acc["pooled_new"].append(summ.rows[0].verdict == "significant fall")
            if fall == 0:
                tested = cells.table["change_class"] != "too few incidents"
                acc["cells_new"].append(cells.table.loc[tested, "significant"].mean())
                acc["cells_old"].append(old_c.table.loc[tested, "significant"].mean())
        rows.append({
            "scenario": name, **{k: (float(np.mean(v)) if v else np.nan) for k, v in acc.items()},
            "hotspots in areas": float(np.mean(found)) if found else np.nan, "data sets": reps,
        })
    return rows


PRODUCT_SCENARIOS = (
    # name, fall, year-to-year sd, month-to-month sd, placebo year in the data, random walk, share falling
    ("realistic, no change", 0.0, 0.12, 0.15, True, False, 0.5),
    ("realistic, half fall 30 %", 0.30, 0.12, 0.15, True, False, 0.5),
    ("Poisson, half fall 15 %", 0.15, 0.0, 0.0, True, False, 0.5),
    ("realistic, half fall 30 %, no placebo year", 0.30, 0.12, 0.15, False, False, 0.5),
    ("realistic, no change, no placebo year", 0.0, 0.12, 0.15, False, False, 0.5),
    # year effects that drift: consecutive changes do not reverse (the placebo adjustment's hard case)
    ("random walk, no change", 0.0, 0.12, 0.15, True, True, 0.5),
    ("random walk, half fall 30 %", 0.30, 0.12, 0.15, True, True, 0.5),
    # two years of Poisson counts: tau2 can only come from the compared years; when every hotspot
    # falls alike they scatter as Poisson, when half do the falls themselves count as scatter
    ("Poisson, all fall 15 %, no placebo year", 0.15, 0.0, 0.0, False, False, 1.0),
    ("Poisson, half fall 15 %, no placebo year", 0.15, 0.0, 0.0, False, False, 0.5),
    # the same two years (2023-2024) with the default periods around a scheme start given as
    # 1 July 2023: before January-June 2023, after July 2023-June 2024, which runs into the next year
    ("realistic, no change, default periods", 0.0, 0.12, 0.15, False, False, 0.5),
    # January-June against July-December 2024, 2022-2023 loaded (the placebo: the same halves of 2023)
    ("realistic, no change, half years", 0.0, 0.12, 0.15, True, False, 0.5),
    ("realistic, half fall 30 %, half years", 0.30, 0.12, 0.15, True, False, 0.5),
    # two years, half the Poisson hotspots fall 30 %: found through a two-group fit of the areas'
    # changes, which needs a likelihood ratio of at least 10 (dispersion.two_group_threshold)
    ("Poisson, half fall 30 %, no placebo year", 0.30, 0.0, 0.0, False, False, 0.5),
    # months busy or quiet across the whole square at once (SHARED_SHOCK_SD), on top of each
    # hotspot's own variation: they cancel in "hotspots vs elsewhere", not in the absolute rows
    ("realistic, no change, shared month shocks", 0.0, 0.12, 0.15, True, False, 0.5),
    ("realistic, no change, no placebo year, shared month shocks", 0.0, 0.12, 0.15, False, False, 0.5),
    ("realistic, half fall 30 %, no placebo year, shared month shocks", 0.30, 0.12, 0.15, False, False, 0.5),
    ("realistic, no change, half years, shared month shocks", 0.0, 0.12, 0.15, True, False, 0.5),
    # half (a quarter) of what the treated hotspots lose reappears 1,000-1,500 m from their centres (displacement)
    ("realistic, half fall 30 %, half displaced", 0.30, 0.12, 0.15, True, False, 0.5),
    ("realistic, half fall 30 %, no placebo year, half displaced", 0.30, 0.12, 0.15, False, False, 0.5),
    ("realistic, half fall 30 %, quarter displaced", 0.30, 0.12, 0.15, True, False, 0.5),
)
#: Shared month-to-month shocks of the rows named "... shared month shocks" (log scale sd): the
#: median over 37 forces' 2025 ASB of the monthly totals' variation beyond Poisson noise and the
#: national month-of-year pattern (3.9-13 % from the 10th to the 90th percentile; hotspots.month_shocks).
SHARED_SHOCK_SD = 0.067
#: Share of what the treated hotspots lose that rows named "..., half displaced" / "..., quarter
#: displaced" move 1,000-1,500 m from their centres.
DISPLACED = {"half displaced": 0.5, "quarter displaced": 0.25}
#: Periods of the product rows named "... half years".
HALF_YEAR_SETTINGS = {"before": ("2024-01", "2024-06"), "after": ("2024-07", "2024-12")}


def change_scenarios_product(reps: int, rng: np.random.Generator, only: tuple[str, ...] | None = None) -> list[dict]:
    """The change scenarios through the product's own path: ``prepare_inputs`` + ``analyse`` with
    default settings and the before/after years given (``hotspots analyse --before 2023-01:2023-12
    --after 2024-01:2024-12``): the footprint study area, automatic cell size and distance band,
    hotspots from all the data's months (the default ``period``), the pooled summary as the
    product computes it. ``adjusted``: share of data sets whose areas were judged on their
    placebo-adjusted change (the data hold the year before "before"). "pooled any" / "else any" /
    "vs any": share of data sets whose "all hotspot areas" / "elsewhere" / "hotspots vs elsewhere"
    row gives any verdict (false alarms where nothing changed; "elsewhere" never changes here).
    Rows named "default periods" give no periods, only a scheme start of 1 July 2023 (the defaults
    around it apply);
    "half years" compare the halves of the last year (:data:`HALF_YEAR_SETTINGS`), the treated
    hotspots falling from July; "shared month shocks" add :data:`SHARED_SHOCK_SD`; "half displaced"
    ("quarter displaced") moves half (a quarter) of what the treated hotspots lose to 1,000-1,500 m
    from their centres. "rings any" / "rings
    vs any" / "rings vs rise": share of data sets whose displacement rows
    (:mod:`hotspots.displacement_rings`, rings 500 m wide) give any verdict for the rings, any for the
    rings against the rest beyond them, and a significant rise there (displacement found); "rings
    flagged": share of the rings whose own change is significant (each ring tested on its own)."""
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    rows = []
    for name, fall, sy, sm, placebo, walk, frac in PRODUCT_SCENARIOS:
        if only is not None and name not in only:
            continue
        keys = (
            "untreated", "treated", "pooled", "pooled any", "else any", "vs any", "cells", "in areas", "cell_m", "adjusted",
            "rings any", "rings vs any", "rings vs rise", "rings flagged",
        )
        acc: dict[str, list] = {k: [] for k in keys}
        for _ in range(reps):
            shocks = name.endswith("shared month shocks")
            half = name.removesuffix(", shared month shocks").endswith("half years")
            inc, centres, treated = _simulate(
                rng, fall=fall, sd_year=sy, sd_month=sm, placebo=placebo, walk=walk, frac=frac, fall_from=6 if half else 0,
                sd_shared=SHARED_SHOCK_SD if shocks else 0.0, displace=DISPLACED.get(name.rsplit(", ", 1)[-1], 0.0),
            )
            inc["category"] = "Anti-social behaviour"
            if name.endswith("default periods"):
                settings = Settings(scheme_start="2023-07-01")
            elif half:
                settings = Settings(**HALF_YEAR_SETTINGS)
            else:
                settings = Settings(before=("2023-01", "2023-12"), after=("2024-01", "2024-12"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prep = prepare_inputs(inc, settings=settings)
                an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
            g = an.grid
            r, c, on = g.cell_of(centres)
            lab = np.zeros(len(centres), dtype=np.int64)
            lab[on] = an.areas.labels[r[on].astype(np.int64), c[on].astype(np.int64)]
            acc["in areas"].append(float((lab > 0).mean()))
            acc["cell_m"].append(g.cell_size)
            if an.change_areas is not None:
                t = an.change_areas.table
                is_t = np.isin(t["area_id"].to_numpy(), lab[treated & (lab > 0)])
                # a fall found: the class, whose direction is the adjusted change's when adjusted
                sig, fell = t["significant"].to_numpy(), (t["change_class"] == "significant fall").to_numpy()
                if (~is_t).any():
                    acc["untreated"].append(sig[~is_t].mean())
                if is_t.any():
                    acc["treated"].append(fell[is_t].mean())
                acc["adjusted"].append(float(an.change_areas.model.placebo_adjusted))
            if an.change_summary is not None:
                acc["pooled"].append(an.change_summary.rows[0].verdict == "significant fall")
                acc["pooled any"].append(an.change_summary.rows[0].verdict != "no significant change")
                acc["else any"].append(an.change_summary.rows[1].verdict != "no significant change")
                acc["vs any"].append(an.change_summary.rows[2].verdict != "no significant change")
            if an.displacement is not None:
                ring, versus = an.displacement.summary.rows
                acc["rings any"].append(ring.verdict != "no significant change")
                acc["rings vs any"].append(versus.verdict != "no significant change")
                acc["rings vs rise"].append(versus.verdict == "significant rise")
                acc["rings flagged"].append(float(an.displacement.ring_change.table["significant"].mean()))
            if fall == 0 and an.change_cells is not None:
                tested = an.change_cells.table["change_class"] != "too few incidents"
                acc["cells"].append(an.change_cells.table.loc[tested, "significant"].mean())
        rows.append({"scenario": name, **{k: (float(np.mean(v)) if v else np.nan) for k, v in acc.items()}, "data sets": reps})
    return rows


def missing_month(reps: int, rng: np.random.Generator) -> list[dict]:
    """The realistic design with no change, whole years compared (2023 against 2024) through the
    product path, July 2024's incidents removed as if its monthly file were missing: areas flagged
    and data sets whose pooled rows give any verdict, with the month left out (the default,
    :mod:`hotspots.coverage`) and counted as a month of no incident (``missing_months=()``, as
    before), and the pooled rows' shared month-to-month shock (:mod:`hotspots.month_shocks`, its
    mean sd), which takes a month of no incident for a shock of the whole area. Rows with and
    without a placebo year."""
    return _month_not_covered(reps, rng, "2024-07-01", keep_west=0.0, how="as zero")


def partial_month(reps: int, rng: np.random.Generator) -> list[dict]:
    """As :func:`missing_month`, but August 2024 published in part, as Hampshire's August 2025: only
    its incidents in the western quarter of the square are kept (a few districts' worth), the month
    left out (the default, :func:`hotspots.coverage.incomplete_months`) or counted as published
    (``missing_months=()``, as before)."""
    return _month_not_covered(reps, rng, "2024-08-01", keep_west=0.25, how="as published")


def _month_not_covered(reps: int, rng: np.random.Generator, month: str, *, keep_west: float, how: str) -> list[dict]:
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    rows = []
    for placebo in (True, False):
        acc: dict[str, list] = {}
        found = []
        for _ in range(reps):
            inc, _, _ = _simulate(rng, fall=0.0, sd_year=0.12, sd_month=0.15, placebo=placebo)
            drop = (inc["month"] == pd.Timestamp(month)).to_numpy() & (inc.geometry.x.to_numpy() >= keep_west * SIDE)
            inc = inc[~drop].assign(category="Anti-social behaviour")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prep = prepare_inputs(inc, settings=Settings(before=("2023-01", "2023-12"), after=("2024-01", "2024-12")))
                found.append(prep.settings.missing_months == (month[:7],))
                for label, s in (("left out", prep.settings), (how, prep.settings.replace(missing_months=()))):
                    an = analyse(prep.incidents, settings=s, study_area=prep.study_area)
                    if an.change_areas is not None:
                        acc.setdefault(f"areas flagged ({label})", []).append(an.change_areas.table["significant"].mean())
                    if an.change_summary is not None:
                        for k, row in zip(("all hotspot areas", "elsewhere"), an.change_summary.rows):
                            acc.setdefault(f"{k} any verdict ({label})", []).append(row.verdict != "no significant change")
                        shocks = an.change_summary.params.get("month_shocks")
                        acc.setdefault(f"shared shock sd ({label})", []).append(np.nan if shocks is None else shocks["sd"])
        rows.append({"placebo year": placebo, "month found": float(np.mean(found)),
                     **{k: float(np.mean(v)) for k, v in acc.items()}, "data sets": reps})
    return rows


def partial_month_false_flags(series: int, rng: np.random.Generator) -> pd.DataFrame:
    """How often :func:`hotspots.coverage.incomplete_months` calls a month of a complete series
    published in part: monthly counts varying 30 % with the season (a sine over the year) and from
    month to month by a gamma factor (negative binomial dispersion ``kappa``: the real files'
    force-wide totals have 0.01-0.06), ``series`` series of 12 and of 36 months per row; share of
    series with any month flagged."""
    from hotspots.coverage import incomplete_months

    rows = []
    for months in (12, 36):
        season = 1 + 0.3 * np.sin(np.arange(months) * 2 * np.pi / 12)
        for kappa in (0.02, 0.06, 0.1, 0.25):
            row = {"months": months, "kappa": kappa}
            for typical in (20, 50, 200, 2_000):
                lam = typical * season * rng.gamma(1 / kappa, kappa, size=(series, months))
                counts = rng.poisson(lam)
                flagged = [bool(incomplete_months(np.repeat(np.arange(months), c))[0]) for c in counts]
                row[f"typical {typical:,}"] = float(np.mean(flagged))
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- emerging
def emerging_null(reps: int, rng: np.random.Generator) -> dict:
    g = Grid.from_bounds((0, 0, 2_999, 2_999), 100)
    rates = {"corrected": [], "uncorrected": []}
    from hotspots.trend import mann_kendall_many

    for _ in range(reps):
        frames = []
        for t in range(24):
            cnt = rng.poisson(2.0, g.shape)
            rr, cc = np.nonzero(cnt)
            n = cnt[rr, cc]
            x = np.repeat(g.xmin + (cc + 0.5) * 100, n)
            y = np.repeat(g.ymax - (rr + 0.5) * 100, n)
            frames.append(pd.DataFrame({"x": x, "y": y, "month": pd.Timestamp("2022-01-01") + pd.DateOffset(months=t)}))
        df = pd.concat(frames)
        inc = gpd.GeoDataFrame({"month": df["month"].values}, geometry=gpd.points_from_xy(df.x, df.y), crs=27700)
        res = emerging_hotspots(inc, g, distance=150, time_window=1)
        rates["corrected"].append(float((res.trend[g.active] != "none").mean()))
        plain = mann_kendall_many(res.z[:, g.active].T, slope=False)
        rates["uncorrected"].append(float((plain.trend != "none").mean()))
    return {k: float(np.mean(v)) for k, v in rates.items()}


def emerging_patterns(reps: int, rng: np.random.Generator) -> list[dict]:
    """Emerging hot spot categories (default settings, 250 m cells, 36 months) on random cubes
    (incidents uniform over a 20 km square, 300 / 3,000 / 30,000 a year: no hot spot exists), on
    an uneven background with no clustering (each cell's rate drawn once, negative binomial kappa
    30 as in the real files' monthly bins, steady over the months), and on 20 small steady
    hotspots (1-5 incidents a month, 150 m spread) over 1,200 background incidents a year: share
    of cubes with any category other than "no pattern detected" (null) or of the hotspots' own
    cells with a hot spot category, and of cells at least 1.5 km from every hotspot with any
    category (with hotspots: also their share of all cells with a category, which FDR keeps near
    or below alpha). Bins judged by the exact count test (default) and by the
    normal p of their z (ArcGIS)."""
    g = Grid.from_bounds((0, 0, SIDE, SIDE), 250)
    gx, gy = np.meshgrid(g.x_centres, g.y_centres)
    rows = []
    for name, per_year, H, kappa in (
        ("random, 300 a year", 300, 0, 0.0), ("random, 3,000 a year", 3_000, 0, 0.0),
        ("random, 30,000 a year", 30_000, 0, 0.0), ("uneven cells (kappa 30, steady), 3,000 a year", 3_000, 0, 30.0),
        ("20 small hotspots, 1,200 background", 1_200, 20, 0.0),
    ):
        acc: dict[str, list] = {}
        for _ in range(reps):
            centres = rng.uniform(2_000, SIDE - 2_000, (H, 2))
            base = rng.uniform(1, 5, H)
            # kappa > 0: each cell's rate drawn once (gamma, variance kappa x mean²), steady over
            # the months: an uneven background with no clustering
            cell_rate = rng.gamma(1 / kappa, kappa * per_year / 12 / g.active.size, g.shape) if kappa else None
            frames = []
            for m in range(36):
                k = rng.poisson(base * np.exp(rng.normal(0, 0.12, H)))
                pts = [centres[i] + rng.normal(0, 150, (k[i], 2)) for i in range(H)]
                if cell_rate is None:
                    pts.append(rng.uniform(0, SIDE, (rng.poisson(per_year / 12), 2)))
                else:
                    n = rng.poisson(cell_rate)
                    rr, cc = np.repeat(np.nonzero(n)[0], n[n > 0]), np.repeat(np.nonzero(n)[1], n[n > 0])
                    off = rng.uniform(0, g.cell_size, (rr.size, 2))
                    cs = g.cell_size
                    pts.append(np.column_stack([g.xmin + cc * cs + off[:, 0], g.ymax - (rr + 1) * cs + off[:, 1]]))
                xy = np.vstack(pts)
                month = pd.Timestamp("2023-01-01") + pd.DateOffset(months=m)
                frames.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "month": month}))
            df = pd.concat(frames, ignore_index=True)
            inc = gpd.GeoDataFrame({"month": df["month"]}, geometry=gpd.points_from_xy(df.x, df.y), crs=27700)
            far = g.active.copy()
            for cx, cy in centres:
                far &= np.hypot(gx - cx, gy - cy) > 1_500
            for inference in ("count", "normal"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    lab = emerging_hotspots(inc, g, inference=inference).labels
                pattern = lab[far] != "no pattern detected"
                acc.setdefault(f"cubes with a pattern far from hotspots ({inference})", []).append(pattern.any())
                acc.setdefault(f"share of those cells ({inference})", []).append(pattern.mean())
                if H:
                    r, c, _ = g.cell_of(centres)
                    own = lab[r.astype(int), c.astype(int)]
                    hot = np.char.endswith(own.astype(str), "hot spot")
                    acc.setdefault(f"hotspots' cells hot ({inference})", []).append(hot.mean())
                    # with real hot spots found, FDR lets about alpha of the discoveries be false:
                    # the share of all cells with a category that lie far from every hotspot
                    every = int((lab[g.active] != "no pattern detected").sum())
                    acc.setdefault(f"far share of all categories ({inference})", []).append(int(pattern.sum()) / max(every, 1))
        rows.append({"scenario": name, **{k: float(np.mean(v)) for k, v in acc.items()}, "cubes": reps})
    return rows


def emerging_year_to_year(reps: int, rng: np.random.Generator) -> list[dict]:
    """Emerging hot spots (default settings, 250 m cells) on the change simulation's three years
    of monthly data: 20 hotspots varying 12 % from year to year and 15 % from month to month with
    no trend, or half of them growing 50 % over the three years; pure Poisson hotspots for
    comparison. Share of the hotspots' own cells (those holding a centre) with a significant
    z-trend, ours (Hamed-Rao factors for the estimated year-to-year variation) against the test
    with the time-window correction alone (:func:`moving_sum_variance_factor`; ArcGIS has neither)."""
    from hotspots.trend import mann_kendall_many, moving_sum_variance_factor

    g = Grid.from_bounds((0, 0, SIDE, SIDE), 250)
    rows = []
    for name, sy, sm, growth in (
        ("12 % year-to-year, no trend", 0.12, 0.15, 0.0),
        ("12 % year-to-year, half grow 50 %", 0.12, 0.15, 0.5),
        ("Poisson, no trend", 0.0, 0.0, 0.0),
        ("Poisson, half grow 30 %", 0.0, 0.0, 0.3),
    ):
        acc: dict[str, list] = {"trend (ours)": [], "trend (plain)": [], "growing found (ours)": [], "growing found (plain)": []}
        for _ in range(reps):
            inc, centres, grows = _simulate(rng, fall=0.0, sd_year=sy, sd_month=sm, placebo=True, growth=growth)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = emerging_hotspots(inc, g)
            r, c, _ = g.cell_of(centres)
            r, c = r.astype(int), c.astype(int)
            ours = res.trend[r, c]
            plain = mann_kendall_many(
                res.z[:, r, c].T, slope=False, variance_factor=moving_sum_variance_factor(res.z.shape[0], 1)
            ).trend
            acc["trend (ours)"].append((ours[~grows] != "none").mean())
            acc["trend (plain)"].append((plain[~grows] != "none").mean())
            if grows.any():
                acc["growing found (ours)"].append((ours[grows] == "up").mean())
                acc["growing found (plain)"].append((plain[grows] == "up").mean())
        rows.append({"scenario": name, **{k: (float(np.mean(v)) if v else np.nan) for k, v in acc.items()}, "cubes": reps})
    return rows


# ----------------------------------------------------------------------------- real data
def _load(force: str) -> gpd.GeoDataFrame | None:
    folder = DATA / force
    if not folder.is_dir():
        return None
    from hotspots.io.police_uk import load_police_uk

    return load_police_uk(sorted(folder.glob("2025-*-street.csv"))).data


def _disp(d) -> str:
    return f"kappa {d.kappa:.3g} ({d.kappa_units:,} units), tau2 {d.tau2:.3g} ({d.tau2_source}; {d.tau2_units} units" + (
        f", {d.tau2_groups} groups)" if d.tau2_groups else ")"
    )


def real_data() -> list[dict]:
    """Derbyshire and Leicestershire 2025 through ``prepare_inputs`` + ``analyse`` (default
    settings, before Jan-Jun, after Jul-Dec 2025), old defaults beside."""
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    rows = []
    for force in ("derbyshire", "leicestershire"):
        raw = _load(force)
        if raw is None:
            continue
        settings = Settings(before=("2025-01", "2025-06"), after=("2025-07", "2025-12"))
        prep = prepare_inputs(raw, settings=settings, categories="Anti-social behaviour")
        secs = []
        for _ in range(2):  # the first call also compiles / warms caches: the second is the time
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
            secs.append(time.perf_counter() - t0)
        inc = prep.incidents
        before, after = prep.settings.change_periods()
        ca, cc = an.change_areas, an.change_cells
        old_gi = gi_star(an.counts, an.gi.params["distance_m"], inference="normal", fdr=True, alpha=0.05)
        old_areas = hotspot_areas(old_gi, min_confidence=0.90)
        old = change_areas(inc, old_areas, before, after, test="poisson", fdr=True) if old_areas.n_areas else None
        new_on_old = change_areas(inc, old_areas, before, after) if old_areas.n_areas else None
        summ = summarise_change(cc, ca, an.areas.labels) if ca is not None else None
        t1 = time.perf_counter()
        change_cells(inc, an.grid, before, after)
        secs_cells = time.perf_counter() - t1
        rows.append({
            "force": force, "incidents": len(inc), "cell_m": an.grid.cell_size,
            "distance_m": an.gi.params.get("distance", an.gi.params.get("distance_m")),
            "areas (new default)": an.areas.n_areas, "areas (old: analytic normal, 90 %)": old_areas.n_areas,
            "cells": _disp(cc.dispersion), "areas": None if ca is None else _disp(ca.dispersion),
            "old Poisson test: old areas called changes": None if old is None else int(old.table["significant"].sum()),
            "new test on the old areas": None if new_on_old is None else int(new_on_old.table["significant"].sum()),
            "new default: areas called changes": None if ca is None else int(ca.table["significant"].sum()),
            "cells called changes (new / tested)": f"{int(cc.table['significant'].sum())} / "
            f"{int((cc.table['change_class'] != 'too few incidents').sum())}",
            "pooled": None if summ is None else summ.to_frame().round(3).to_dict("records"),
            "shared month shocks (sd, df)": None if summ is None or not summ.params.get("month_shocks") else
            f"{summ.params['month_shocks']['sd']:.3f}, {summ.params['month_shocks']['df']}",
            "displacement (500 m rings)": None if an.displacement is None else
            an.displacement.to_frame().round(3).to_dict("records"),
            "analyse() s (first, second call)": [round(x, 2) for x in secs], "change_cells s": round(secs_cells, 2),
        })
    return rows


def emerging_month_permutations(n_perm: int, seed: int = 0) -> list[dict]:
    """Emerging hot spots on the real 2025 ASB of Derbyshire and Leicestershire with the months in
    a random order: a placebo with the files' own places, hotspots, month-to-month variation and
    seasonality, in which nothing trends (each cell's series is a random permutation of its own).
    Default settings (monthly steps, time window 1, count-test bins, FDR over the cube) on the
    grid of ``prepare_inputs`` + ``hotspot_stage``. Reported: share of cells with a z-trend (all,
    and those with 12 or more incidents in the year), its range over the permutations, the same
    for the plain Mann-Kendall test (no correction for the shared time window: ArcGIS), share of
    busy cells with a count trend, and of permuted cubes with any intensifying or diminishing
    hot spot; then the real month order."""
    from hotspots.pipeline import Settings, hotspot_stage, prepare_inputs
    from hotspots.trend import mann_kendall_many

    rows = []
    rng = np.random.default_rng(seed)
    for force in ("derbyshire", "leicestershire"):
        raw = _load(force)
        if raw is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prep = prepare_inputs(raw, settings=Settings(), categories="Anti-social behaviour")
            grid = hotspot_stage(prep.incidents, prep.settings, prep.study_area).grid
        inc = prep.incidents
        month = pd.to_datetime(inc["month"]).dt.to_period("M")
        order = sorted(month.unique())
        act = grid.active

        def run(perm: np.ndarray) -> dict:
            moved = month.map(dict(zip(order, [order[i] for i in perm]))).dt.to_timestamp()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = emerging_hotspots(inc.assign(month=moved.to_numpy(), occurred=pd.NaT), grid)
            busy = res.counts.sum(axis=0)[act] >= 12
            trend = res.trend[act] != "none"
            plain = mann_kendall_many(res.z[:, act].T, slope=False).trend != "none"
            cats = res.categories[act]
            return {
                "trend": trend.mean(), "trend_busy": trend[busy].mean(), "plain_busy": plain[busy].mean(),
                "count_trend_busy": (res.count_trend_p[act][busy] < 0.05).mean(),
                "trend_category": bool(np.isin(cats, (3, 5, -3, -5)).any()), "busy": int(busy.sum()),
                "categories": {CATEGORY_LABELS[int(k)]: int(v) for k, v in zip(*np.unique(cats, return_counts=True)) if k},
            }

        perms = [run(rng.permutation(len(order))) for _ in range(n_perm)]
        real = run(np.arange(len(order)))
        busy = np.array([r["trend_busy"] for r in perms])
        rows.append({
            "force": force, "months": len(order), "busy cells": perms[0]["busy"],
            "permuted: cells with a z-trend": float(np.mean([r["trend"] for r in perms])),
            "permuted: busy cells with a z-trend": float(busy.mean()),
            "permuted: busy cells with a z-trend, range over permutations": (float(busy.min()), float(busy.max())),
            "permuted: busy cells, plain Mann-Kendall (ArcGIS)": float(np.mean([r["plain_busy"] for r in perms])),
            "permuted: busy cells with a count trend": float(np.mean([r["count_trend_busy"] for r in perms])),
            "permuted cubes with an intensifying or diminishing hot spot": float(np.mean([r["trend_category"] for r in perms])),
            "real order: busy cells with a z-trend": float(real["trend_busy"]),
            "real order: categories": real["categories"],
        })
    return rows


#: The half-years compared by the real-data checks (no scheme started in July 2025).
HALF_YEARS = (("2025-01", "2025-06"), ("2025-07", "2025-12"))


def half_year_analysis(force: str, periods: tuple[tuple[str, str], tuple[str, str]] = HALF_YEARS):
    """One force's ASB from the national 2025 set through ``prepare_inputs`` + ``analyse`` with
    default settings and these before/after months; None without a file in each half of the year
    (a month missing in between is left out of the comparison: :mod:`hotspots.coverage`)."""
    from benchmarks.forces import force_files
    from hotspots.io import load_police_uk
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    files = force_files(force)
    months = {Path(f).name[:7] for f in files}
    if not any(m <= periods[0][1] for m in months) or not any(m >= periods[1][0] for m in months):
        return None
    loaded = load_police_uk(files, categories=["Anti-social behaviour"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep = prepare_inputs(loaded.data, settings=Settings(before=periods[0], after=periods[1]))
        return analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)


def national_placebo(forces: list[str] | None = None) -> pd.DataFrame:
    """Every force of the national 2025 set with files in both halves of the year (37 with all twelve
    months; Thames Valley lacks July, Avon and Somerset six months): ASB, Jan-Jun vs Jul-Dec, through
    ``prepare_inputs`` + ``analyse`` with default settings. Per force: hotspot areas called
    significant changes, the areas' and the cells' dispersion, the upper-tail p of the areas' own
    scatter at the tau2 they were judged with (about uniform when the model fits; small when it
    understates them: :func:`hotspots.change_model.scatter_beyond_model_p`) and the pooled verdicts.
    No scheme started in July 2025; half-years differ by season, which can differ between places."""
    from benchmarks.forces import NATIONAL, national_forces
    from hotspots.change_model import scatter_beyond_model_p

    rows = []
    if not NATIONAL.is_dir():
        return pd.DataFrame(rows)
    for force in forces or national_forces():
        an = half_year_analysis(force)
        if an is None:
            continue
        ca = an.change_areas
        if ca is None:
            rows.append({"force": force, "areas": 0})
            continue
        d, summ = ca.dispersion, an.change_summary
        rows.append({
            "force": force, "areas": len(ca.table), "called changes": int(ca.table["significant"].sum()),
            "kappa cells": round(an.change_cells.dispersion.kappa, 3), "kappa areas": round(d.kappa, 3),
            "tau2 cells": round(an.change_cells.dispersion.tau2, 3), "tau2 areas": round(d.tau2, 3),
            "areas' scatter p (upper)": scatter_beyond_model_p(ca.panel, ca.model),
            "hotspots vs elsewhere": None if summ is None else f"{summ.rows[2].rate_ratio:.3f} p={summ.rows[2].p_value:.3f}",
            "tau2 from": d.tau2_source[:90],
        })
    return pd.DataFrame(rows)


def national_month_shuffle(
    n_perm: int = 5, seed: int = 123, forces: list[str] | None = None, *, pairs: bool = True
) -> pd.DataFrame:
    """A placebo on every force's own 2025 ASB (the 38 with all twelve months): the months taken
    in pairs (January-February, March-April, ...), one of each pair drawn at random into "before"
    and the other into "after", relabelled Jan-Jun and Jul-Dec 2025 (each month's incidents thinned
    to its new label's number of days, since rates are per day) and compared through
    ``prepare_inputs`` + ``analyse`` with default settings. Places, hotspots and month-to-month
    variation are the files' own and nothing was done, so hotspot areas, tested cells,
    "hotspots vs elsewhere" and "rings vs beyond" (:mod:`hotspots.displacement_rings`) should be
    called changes at most at their 5 % level. "All hotspot areas", "elsewhere" and "rings around
    hotspot areas" measure the force-wide level too, which differs between the two sets of
    months (the season within each pair, the year's drift): their verdicts can be true, and the
    rate ratios are given. One row per force and draw.

    ``pairs=False`` (``--month-shuffle``): any six of the twelve months drawn into "before" (each of
    the 924 splits equally likely; the six kept in calendar order under the labels Jan-Jun, the other
    six Jul-Dec), so the two sets can differ by a whole season, which the one-year comparison cannot
    fit (its season is one harmonic of the labels) and which is then a shock shared by the force.
    Each row also counts the areas and cells called falls and rises (do those called move together?)."""
    from benchmarks.forces import NATIONAL, force_files, national_forces
    from hotspots.io import load_police_uk
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    rows: list[dict] = []
    if not NATIONAL.is_dir():
        return pd.DataFrame(rows)
    rng = np.random.default_rng(seed)
    for force in forces or national_forces():
        inc = load_police_uk(force_files(force), categories=["Anti-social behaviour"]).data
        month = pd.to_datetime(inc["month"]).dt.to_period("M") if len(inc) else None
        order = sorted(month.unique()) if month is not None else []
        if len(order) != 12:
            continue
        if not pairs:  # each force its own stream: a subset of forces draws what the whole run does
            rng = np.random.default_rng([seed, zlib.crc32(force.encode())])
        for k in range(n_perm):
            if pairs:
                pick = rng.integers(0, 2, 6)
                first = [2 * i + pick[i] for i in range(6)]
            else:
                first = sorted(rng.choice(12, 6, replace=False).tolist())
            second = [i for i in range(12) if i not in first]
            new_label = {order[j]: pd.Period(f"2025-{i + 1:02d}", "M") for i, j in enumerate(first)}
            new_label.update({order[j]: pd.Period(f"2025-{i + 7:02d}", "M") for i, j in enumerate(second)})
            # a month's incidents counted under a label of another length: thinned to the label's
            # days (rates are per day), every month by at least 28/31 so that none needs more
            label = month.map(new_label)
            keep = rng.random(len(inc)) < (28 / 31) * label.dt.days_in_month.to_numpy() / month.dt.days_in_month.to_numpy()
            moved = inc.assign(month=label.dt.to_timestamp().to_numpy(), occurred=pd.NaT)[keep]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prep = prepare_inputs(moved, settings=Settings(before=HALF_YEARS[0], after=HALF_YEARS[1]))
                an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
            ca, cc, summ = an.change_areas, an.change_cells, an.change_summary
            row = {
                "force": force, "draw": k, "areas": an.areas.n_areas,
                "areas called": 0 if ca is None else int(ca.table["significant"].sum()),
                "cells called": int(cc.table["significant"].sum()),
                "cells tested": int((cc.table["change_class"] != "too few incidents").sum()),
                "before months": "".join(f"{j + 1:x}" for j in first),
            }
            for what, t in (("areas", None if ca is None else ca.table), ("cells", cc.table)):
                cls = pd.Series(dtype=object) if t is None else t["change_class"].astype(str)
                row[what + " falls"] = int((cls == "significant fall").sum())
                row[what + " rises"] = int((cls == "significant rise").sum())
            if summ is not None and summ.params.get("month_shocks"):
                row["shocks sd"] = round(float(summ.params["month_shocks"]["sd"]), 4)
            moved = an.displacement.summary.rows if an.displacement is not None else ()
            for r in (*(summ.rows if summ is not None else ()), *moved):
                row[r.scope] = r.verdict != "no significant change"
                row[r.scope + ": rate ratio"] = round(r.rate_ratio, 3)
            rows.append(row)
    return pd.DataFrame(rows)


def _print_month_shuffle(t: pd.DataFrame) -> None:
    if t.empty:
        return
    print(f"\n# Every force's own 2025 ASB with its months shuffled in pairs ({t['force'].nunique()} forces, "
          f"{len(t)} draws): what is called a change")
    print(f"hotspot areas: {int(t['areas called'].sum())} of {int(t['areas'].sum())} "
          f"({t['areas called'].sum() / max(t['areas'].sum(), 1):.1%}); cells: {int(t['cells called'].sum())} of "
          f"{int(t['cells tested'].sum()):,} tested")
    for scope in ("hotspots vs elsewhere", "rings vs beyond", "all hotspot areas", "elsewhere", "rings around hotspot areas"):
        if scope in t:
            v = t[scope].dropna().astype(bool)
            rr = t[scope + ": rate ratio"].dropna()
            print(f"{scope}: any verdict in {v.mean():.1%} of {v.size} draws (rate ratios {rr.quantile(0.05):.3f} - "
                  f"{rr.quantile(0.95):.3f}, 5th - 95th percentile)")


def _share_interval(k: int, n: int) -> str:
    """``k / n`` as a share with its exact (Clopper-Pearson) 95 % interval."""
    from scipy import stats

    if n == 0:
        return "0 / 0"
    lo = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return f"{k} / {n:,} = {k / n:.1%} ({lo:.1%}-{hi:.1%})"


def _print_any_month_shuffle(t: pd.DataFrame) -> None:
    """Per force and in total: hotspot areas and tested cells called changes with any six of the
    twelve months drawn into "before" (:func:`national_month_shuffle` with ``pairs=False``); the
    pooled rows' verdicts; whether the areas called move with the force (elsewhere's rate ratio)."""
    if t.empty:
        print("skipped: the national police.uk set was not found")
        return
    g = t.groupby("force").agg(
        draws=("draw", "size"), areas=("areas", "sum"), called=("areas called", "sum"), falls=("areas falls", "sum"),
        rises=("areas rises", "sum"), cells_called=("cells called", "sum"), cells_tested=("cells tested", "sum"),
        shocks_sd=("shocks sd", "median"),
    )
    g["share called"] = (g["called"] / g["areas"].where(g["areas"] > 0)).round(3)
    print(f"# Every force's own 2025 ASB, any six of its twelve months drawn into \"before\" ({t['force'].nunique()} forces, "
          f"{len(t)} draws): what is called a change")
    print(g.to_string())
    print(f"\nhotspot areas called: {_share_interval(int(t['areas called'].sum()), int(t['areas'].sum()))}")
    print(f"tested cells called: {_share_interval(int(t['cells called'].sum()), int(t['cells tested'].sum()))}")
    for scope in ("all hotspot areas", "elsewhere", "hotspots vs elsewhere", "rings around hotspot areas", "rings vs beyond"):
        if scope in t:
            v = t[scope].dropna().astype(bool)
            print(f"{scope}: any verdict in {_share_interval(int(v.sum()), int(v.size))} draws")
    rr = t["elsewhere: rate ratio"]
    along = int((t["areas falls"] * (rr < 1) + t["areas rises"] * (rr > 1)).sum())
    print(f"areas called that moved the way elsewhere did: {along} of {int(t['areas called'].sum())}")
    move = np.abs(np.log(rr))
    q = pd.qcut(move, 4, labels=["least", "second", "third", "most"])
    by = t.groupby(q, observed=True).agg(areas=("areas", "sum"), called=("areas called", "sum"))
    print("by how far elsewhere moved (quarters of the draws): " + "; ".join(
        f"{k} (|log ratio| to {move[q == k].max():.3f}): {int(r.called)} / {int(r.areas)} = {r.called / max(r.areas, 1):.1%}"
        for k, r in by.iterrows()
    ))


def _print_emerging_permutations(n_perm: int, seed: int) -> None:
    print(f"# Emerging hot spots on the real 2025 ASB with the months in random order ({n_perm} permutations a force)")
    for r in emerging_month_permutations(n_perm, seed) or [{"(data not found)": ""}]:
        for k, v in r.items():
            if isinstance(v, float):
                v = f"{v:.1%}"
            elif isinstance(v, tuple):
                v = " - ".join(f"{x:.1%}" for x in v)
            print(f"{k}: {v}")
        print()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--real-only", action="store_true", help="only the real-data figures")
    ap.add_argument("--national", action="store_true", help="national placebos only (~3 + 8 min)")
    ap.add_argument("--month-shuffle", type=int, nargs="?", const=6, default=None, metavar="DRAWS",
                    help="every force with any six of its months drawn into 'before', DRAWS a force (default 6: ~15 min)")
    args = ap.parse_args(argv)
    reps = 8 if args.quick else args.reps
    rng = np.random.default_rng(args.seed)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    t0 = time.perf_counter()
    if args.month_shuffle:
        _print_any_month_shuffle(national_month_shuffle(args.month_shuffle, args.seed, pairs=False))
        return
    if args.national:
        t = national_placebo()
        if t.empty:
            print("skipped: the national police.uk set was not found")
            return
        print(t.to_string(index=False))
        p = t["areas' scatter p (upper)"].dropna().astype(float)
        did = t["hotspots vs elsewhere"].dropna().str.extract(r"p=([0-9.]+)")[0].astype(float)
        print(f"\nareas called significant changes: {int(t['called changes'].sum())} of {int(t['areas'].sum())}; "
              f"forces whose areas scatter more than their model allows at p < 0.05: {int((p < 0.05).sum())} of {p.size}; "
              f"'hotspots vs elsewhere' significant: {int((did < 0.05).sum())} of {did.size}")
        _print_month_shuffle(national_month_shuffle(5 if args.quick else 10, args.seed))
        return
    if args.real_only:
        for r in real_data():
            for k, v in r.items():
                print(f"{k}: {v}")
            print()
        _print_emerging_permutations(max(reps * 5, 40), args.seed)
        return
    print(f"# Null maps and compact clusters ({reps} maps each)")
    print(pd.DataFrame(null_maps(reps, rng)).round(3).to_string(index=False))
    print(f"\n# Null maps through prepare_inputs + hotspot_stage, as the CLI and app run them ({max(reps // 2, 4)} maps each)")
    print(pd.DataFrame(null_maps_product(max(reps // 2, 4), rng)).round(3).to_string(index=False))
    print(f"\n# Change verdicts ({max(reps // 2, 4)} data sets each)")
    print(pd.DataFrame(change_scenarios(max(reps // 2, 4), rng)).round(3).to_string(index=False))
    print(f"\n# Change verdicts through prepare_inputs + analyse, default settings ({max(reps // 2, 4)} data sets each)")
    print(pd.DataFrame(change_scenarios_product(max(reps // 2, 4), rng)).round(3).to_string(index=False))
    print(f"\n# Emerging hot spots: null false-trend rate (alpha 0.05, {max(reps // 4, 3)} cubes)")
    print(emerging_null(max(reps // 4, 3), rng))
    print(f"\n# Emerging hot spots on hotspots that vary from year to year (36 months, {max(reps // 2, 4)} cubes each)")
    print(pd.DataFrame(emerging_year_to_year(max(reps // 2, 4), rng)).round(3).to_string(index=False))
    print(f"\n# Emerging hot spot categories on random cubes and small steady hotspots ({max(reps // 4, 3)} cubes each)")
    print(pd.DataFrame(emerging_patterns(max(reps // 4, 3), rng)).set_index("scenario").round(4).T.to_string())
    print(f"\n# A monthly file missing (July of the after year), no change, through the product ({max(reps // 2, 4)} data sets)")
    print(pd.DataFrame(missing_month(max(reps // 2, 4), rng)).round(3).to_string(index=False))
    # printed after every earlier table and drawn from its own seed, so that those keep their draws
    own = np.random.default_rng(args.seed + 1)
    n_sets = max(reps // 2, 4)
    print(f"\n# A month published in part (August of the after year), no change, through the product ({n_sets} data sets)")
    print(pd.DataFrame(partial_month(n_sets, own)).round(3).to_string(index=False))
    print(f"\n# Complete series with a month called published in part ({max(reps * 25, 200)} series a cell)")
    print(partial_month_false_flags(max(reps * 25, 200), own).round(4).to_string(index=False))
    print("\n# Real police.uk 2025 data (Jan-Jun vs Jul-Dec)")
    for r in real_data() or [{"(data not found)": ""}]:
        for k, v in r.items():
            print(f"{k}: {v}")
        print()
    _print_emerging_permutations(max(reps * 5, 40), args.seed)
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
