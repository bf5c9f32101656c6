"""Benchmark: from a parameter change to the map being redrawn in the browser, in the real app.

Run from the repository root (needs Debian's Chromium at /usr/bin/chromium and Playwright)::

    python -m benchmarks.app_redraw           # both scenarios, three new cell sizes each
    python -m benchmarks.app_redraw --quick   # one new cell size each

What is timed
-------------
``streamlit run app.py`` is started on a free port (the browser-test harness's
``start_streamlit``) and driven by headless Chromium; every request that would leave the machine
is blocked. Two scenarios on the built-in demo data:

* **force-year**: hotspots from one year of the force's incidents (``?period=2023-04:2024-03``);
* **full period**: all 39 months (2022-01 to 2025-03, 94,037 incidents).

For each: the first page load (the analysis is computed), then the cell size is typed into the
"Cell size (m)" box and Enter pressed; the clock stops when the map frame shows the new density
image, loaded, and stays so for 0.1 s (``StreamlitPage.wait_for_map_change``). "new" sizes have
never been computed in this server (the whole analysis runs); "cached" goes back to a size
computed before (only the map is rebuilt).

Then a breakdown, measured in-process in a fresh thread (each Streamlit rerun runs in a new
thread) with the same calls as the app: the analysis stages, building the map layers, drawing
them once into the map component's text (:mod:`hotspots.app_support.drawn`), and the component
arguments every rerun joins. As in the app, what depends only on the data set is prepared once
and not timed (the incidents' coordinates and dates; the base map and the referral, task and
line layers, drawn once). A cached redraw runs none of these steps but the last. The rest of the
browser time is Streamlit's rerun, the websocket, and the map frame replacing its layers. The
scheme's figures (referrals linked, then protected together) are timed too but are not part of
a redraw: the app computes them only when they are shown (the areas table's referral toggle,
the Scheme tab) or downloaded.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "browser" / "conftest.py"
SCENARIOS = {
    "force-year": ("2023-04", "2024-03"),
    "full period": None,
}


def _harness():
    spec = importlib.util.spec_from_file_location("hotspots_browser_harness", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def browser_times(sizes_new: list[int], cached_size: int) -> dict[str, dict[str, Any]]:
    """Page load and redraw times per scenario, seconds."""
    from playwright.sync_api import sync_playwright

    h = _harness()
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as logs:
        server = h.start_streamlit(REPO / "app.py", Path(logs))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(h.CHROMIUM), args=h.CHROMIUM_ARGS, headless=True)
                try:
                    for name, period in SCENARIOS.items():
                        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
                        page = ctx.new_page()
                        sp = h.StreamlitPage(page=page, out_dir=Path(logs), name=name)

                        def route(r: Any, sp: Any = sp) -> None:
                            if h._is_local(r.request.url):
                                r.continue_()
                            else:
                                sp.external.append(r.request.url)
                                r.abort()

                        ctx.route("**/*", route)
                        # ?cell=250 starts with a given cell size (the automatic choice off), so that typing new sizes redraws.
                        url = server.url + "/?cell=250" + (f"&period={period[0]}:{period[1]}" if period else "")
                        sp.goto(url, timeout_s=300)
                        sp.wait_for_map((".leaflet-image-layer", ".leaflet-control-layers"), timeout_s=300)
                        load = sp.timings["load_to_map_s"]
                        page.get_by_text("Analyst settings").click()
                        new, cached = [], []
                        for size in sizes_new:
                            before = sp.stable_map_state()
                            sp.set_number("Cell size (m)", size)
                            new.append(sp.wait_for_map_change(before, timeout_s=300))
                            before = sp.stable_map_state()
                            sp.set_number("Cell size (m)", cached_size)
                            cached.append(sp.wait_for_map_change(before, timeout_s=300))
                        errors = sp.app_errors()
                        out[name] = {"load": load, "new": new, "cached": cached, "external": list(sp.external), "errors": errors}
                        ctx.close()
                finally:
                    browser.close()
        finally:
            server.stop()
    return out


def _in_thread(fn: Callable[[], Any]) -> tuple[float, Any]:
    box: dict[str, Any] = {}

    def run() -> None:
        t = time.perf_counter()
        box["value"] = fn()
        box["t"] = time.perf_counter() - t

    th = threading.Thread(target=run)
    th.start()
    th.join()
    return box["t"], box["value"]


_PER_DATA_SET: dict[str, Any] = {}
ON_DEMAND = "(on demand) scheme: "


def breakdown(period: tuple[str, str] | None, cell: float) -> dict[str, float]:
    """Seconds per step of a redraw with new settings, as the app does it, in a fresh thread."""
    from hotspots.app_support import demo_bundle, maplayers
    from hotspots.app_support.drawn import component_args, draw_layer, draw_map
    from hotspots.incident_time import incident_points
    from hotspots.linkage import link_referrals
    from hotspots.maps import scheme_layers as sl
    from hotspots.pipeline import area_change, hotspot_stage
    from hotspots.places import name_hotspot_areas
    from hotspots.publication import publish_scheme

    b = demo_bundle(0)
    s = b.defaults.replace(cell_size=float(cell), period=period)
    times: dict[str, float] = {}
    if not _PER_DATA_SET:  # once per data set in the app (cached), not part of a redraw
        _PER_DATA_SET["points"] = incident_points(b.incidents)
        _PER_DATA_SET["base"] = draw_map(maplayers.app_base_map(b.study_area, None, height=620))
        # Task sites only: the referral squares and flows are sent only when switched on (default off).
        _PER_DATA_SET["static"] = [draw_layer(g) for g in maplayers.scheme_layers(None, b.tasks)]
        gc.freeze()  # as the app does once per data set (hotspots.app_support.cached.months_of)

    def run() -> None:
        def step(name: str, fn: Callable[[], Any]) -> Any:
            t = time.perf_counter()
            v = fn()
            times[name] = time.perf_counter() - t
            return v

        stage = step("analysis: grid, counts, KDE, Gi*, areas", lambda: hotspot_stage(b.incidents, s, b.study_area))
        change, _ = step("analysis: change per hotspot", lambda: area_change(_PER_DATA_SET["points"], stage, s))
        places = step(
            "map: place names of the areas", lambda: name_hotspot_areas(stage.areas.areas, stage.incidents, b.study_area)
        )
        table = step("map: table behind the areas", lambda: sl.hotspot_area_table(stage.areas, change=change, places=places))
        groups = step("map: folium layers", lambda: maplayers.analysis_layers(stage, table))
        drawn = step("map: layers drawn once (component text)", lambda: [draw_layer(g) for g in groups])

        def args():
            a = component_args(_PER_DATA_SET["base"], [*drawn, *_PER_DATA_SET["static"]], key="main_map", height=620)
            return len(a["feature_group"]) + len(a["layer_control"]) + len(a["script"])

        size = step("map: component arguments (every rerun)", args)
        times["bytes of layer script"] = float(size)
        # Not part of a redraw: the scheme's figures, computed only when shown (the areas table's
        # referral toggle, the Scheme tab, the downloads).
        link = step(
            ON_DEMAND + "referrals linked",
            lambda: link_referrals(b.referrals, areas=stage.areas.areas, tasks=b.tasks, near_m=s.near_m),
        )
        step(
            ON_DEMAND + "figures protected together",
            lambda: publish_scheme(b.referrals, linkage=link, areas=stage.areas.areas, snap_m=250.0),
        )

    _, _ = _in_thread(run)
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one new cell size per scenario")
    ap.add_argument(
        "--repeat", type=int, metavar="N", help="N new cell sizes (and N returns to a cached one) per scenario, for medians"
    )
    ap.add_argument("--no-breakdown", action="store_true", help="browser times only")
    args = ap.parse_args(argv)
    sizes = [300] if args.quick else [300, 350, 400]
    if args.repeat:
        sizes = [300 + 50 * i for i in range(args.repeat)]
    print(f"app redraw benchmark: cell size 250 m -> {sizes} m (new) and back to 250 m (cached)")
    t0 = time.perf_counter()
    res = browser_times(sizes, 250)
    print(f"(browser part took {time.perf_counter() - t0:.0f} s)\n")
    print(f"{'scenario':<12} {'first load':>10} {'redraw, new settings (median / each)':>44} {'redraw, cached (median)':>24}")
    for name, r in res.items():
        each = ", ".join(f"{v:.2f}" for v in r["new"])
        cached = ", ".join(f"{v:.2f}" for v in r["cached"])
        new_median, cached_median = statistics.median(r["new"]), statistics.median(r["cached"])
        print(f"{name:<12} {r['load']:>9.1f}s {new_median:>12.2f} s  ({each}) {cached_median:>10.2f} s  ({cached})")
        if r["external"] or r["errors"]:
            print(f"   !! external requests {r['external']}, app errors {r['errors']}")
    if args.no_breakdown:
        _load()
        return
    print("\nserver-side breakdown of a redraw with new settings (fresh thread, like a Streamlit rerun):")
    breakdown(None, 500)  # warm-up: imports, the demo data, numba's compiled kernels (not counted)
    for name, period in SCENARIOS.items():
        bd = breakdown(period, 450)
        size = bd.pop("bytes of layer script")
        total = sum(v for k, v in bd.items() if not k.startswith(ON_DEMAND))
        print(f"  {name} (450 m cells): {total:.2f} s in Python for the redraw; {size / 1e3:,.0f} kB of layer script")
        for k, v in bd.items():
            print(f"    {k:<46} {v:6.3f} s")
    _load()


def _load() -> None:
    try:
        import os

        print(f"\nload average: {', '.join(f'{v:.1f}' for v in os.getloadavg())} (1, 5, 15 min) on {os.cpu_count()} cores")
    except OSError:
        pass


if __name__ == "__main__":
    main()
