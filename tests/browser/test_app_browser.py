"""The app in a real browser: ``streamlit run app.py`` driven by Debian's Chromium (Playwright).

What only a browser shows: the Leaflet map with its layers (offline: every request stays on this
machine), redraws after a parameter change, the two synchronised before/after maps, downloads,
uploads through the file picker, and that nothing from the data runs as script.

Screenshots go to ``test-output/browser/``; the main view is also saved small as
``docs/screenshot-app.png`` (used in the README) when that file is missing or
``HOTSPOTS_UPDATE_SCREENSHOT=1`` is set.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
FIRST_LOAD_S = 240.0  # the first page load computes the analysis (2-core machine, other jobs running)
CHANGE_S = 120.0
MAP_READY = (".leaflet-container", ".leaflet-image-layer", ".leaflet-control-layers", ".hotspots-legend", ".hotspots-marker")
# The person-level layers (referral squares, referral → task flows) are added only when switched
# on in the page (Streamlit toggles above the map): switched off, nothing of them is sent.
LAYERS = [
    "Study area",
    "Incident density (KDE)",
    "Gi* hot and cold spots",
    "Hotspot areas",
    "Reparative task sites",
]
LAYERS_WITH_SQUARES = LAYERS[:4] + ["Referral origins (250 m squares)"] + LAYERS[4:]
PAYLOAD_NAME = '<img src=x onerror="window.__pwned=1">![x](http://evil.example/x.png).csv'


def metrics(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {lab.strip(): val.strip() for lab, val in zip(labels, values)}


def wait_for_metric(st_page, label: str, predicate, timeout_s: float = CHANGE_S) -> str:
    page = st_page.page
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    while True:
        value = metrics(page).get(label)
        if value is not None and predicate(value):
            return value
        if page.evaluate("Date.now()") > deadline:
            raise AssertionError(f"metric {label!r} is {value!r} after {timeout_s:.0f} s; errors: {st_page.app_errors()}")
        page.wait_for_timeout(100)


def open_tab(st_page, name: str) -> None:
    st_page.page.get_by_role("tab", name=name).click()


def layer_labels(frame) -> list[str]:
    return [t.strip() for t in frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()]


def no_trouble(st_page) -> None:
    assert st_page.external == [], f"requests left the machine: {st_page.external}"
    assert not [e for e in st_page.js_errors if e.startswith("pageerror")], st_page.js_errors
    assert st_page.app_errors() == []
    kinds = st_page.eval_all_frames("typeof window.__pwned")
    assert all(k == "undefined" for k in kinds), kinds


@pytest.fixture
def app(st_page, streamlit_server):
    # Street-scale cells given in the address (the automatic cell size is off), so that the
    # cell size box can be typed into; the automatic default is tested in tests/test_app.py.
    st_page.goto(streamlit_server(APP) + "/?cell=250", timeout_s=FIRST_LOAD_S)
    frame = st_page.wait_for_map(MAP_READY, timeout_s=FIRST_LOAD_S)
    print(f"\n[app] page load -> map drawn: {st_page.timings['load_to_map_s']:.2f} s")
    return frame


def test_map_has_its_layers_offline(st_page, app):
    frame = app
    assert layer_labels(frame) == LAYERS
    # Layers that start hidden are unticked (and not drawn); the others are ticked.
    ticked = frame.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')].map(l => l.querySelector('input').checked)"
    )
    assert ticked == [True, True, True, True, True]
    assert "Referral" not in frame.content()  # no person-level layer was sent
    src = frame.locator(".leaflet-image-layer").first.get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    legends = " ".join(frame.locator(".hotspots-legend").all_inner_texts())
    assert "Incident density (KDE)" in legends and "Gi* class" in legends and "FB food bank" in legends
    # The numbers above the map are there.
    m = metrics(st_page.page)
    # the incidents in the study area's cells (94,037 loaded, 58 in cells outside the built-in outline), as
    # the command line's "incidents analysed" (one rule: summaries.headline)
    assert m["Cell size"] == "250 m" and m["Incidents analysed"] == "93,979"
    box = st_page.page.locator('iframe[title*="st_folium"]').first.bounding_box()
    assert box is not None and box["height"] >= 500
    no_trouble(st_page)
    # The README's screenshot: the main view, small. Written when missing or when asked for
    # (HOTSPOTS_UPDATE_SCREENSHOT=1), so that test runs leave the checkout clean.
    path = st_page.screenshot("main")
    readme_shot = REPO / "docs" / "screenshot-app.png"
    if not readme_shot.exists() or os.environ.get("HOTSPOTS_UPDATE_SCREENSHOT") == "1":
        _save_small_png(path, readme_shot)
    _save_small_png(path, path.with_name("screenshot-app-small.png"))


def _save_small_png(src: Path, dst: Path) -> None:
    from PIL import Image

    dst.parent.mkdir(parents=True, exist_ok=True)
    img = Image.open(src).convert("RGB")
    img = img.crop((0, 0, img.width, min(img.height, 900)))
    img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS)
    img.save(dst, optimize=True)
    if dst.stat().st_size >= 500_000:  # keep the repository small: a palette image then
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
    assert dst.stat().st_size < 500_000


def test_cell_size_change_redraws_map_and_numbers(st_page, app):
    page = st_page.page
    frame = app
    before_numbers = metrics(page)
    # Switch the referral squares on (a page toggle): they must stay on when the groups are replaced.
    page.get_by_text("Referral origins", exact=True).click()
    frame = st_page.map_frame()
    frame.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 100", timeout=60_000)
    before = st_page.stable_map_state()
    page.get_by_text("Analyst settings").click()
    st_page.set_number("Cell size (m, 50–5,000)", 400)
    took = st_page.wait_for_map_change(before, timeout_s=CHANGE_S)
    print(f"\n[app] cell size 250 -> 400 m: map redrawn in {took:.2f} s")
    st_page.timings["change_to_map_s"] = took
    wait_for_metric(st_page, "Cell size", lambda v: v == "400 m")
    after = st_page.stable_map_state()
    after_numbers = metrics(page)
    assert after["images"][0][:2] != before["images"][0][:2]  # a new density image
    assert after_numbers["Hotspot area"] != before_numbers["Hotspot area"]
    # Still one map frame (the groups were replaced in place), the same layers, the user's choice kept.
    frame = st_page.map_frame()
    assert layer_labels(frame) == LAYERS_WITH_SQUARES
    ticked = frame.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')].map(l => l.querySelector('input').checked)"
    )
    assert ticked[4] is True
    assert after["paths"] > 100  # the referral squares are drawn again
    assert len(after["legends"]) == len(before["legends"])  # legends replaced, not piled up
    no_trouble(st_page)


def test_going_back_to_cached_settings_redraws_the_same_map(st_page, app):
    # The app caches each layer group and draws a copy of it on every rerun; going back to a
    # cell size computed before must draw the same map as the first time, without script errors.
    page = st_page.page
    first = st_page.stable_map_state()
    first_numbers = metrics(page)
    page.get_by_text("Analyst settings").click()
    st_page.set_number("Cell size (m, 50–5,000)", 400)
    st_page.wait_for_map_change(first, timeout_s=CHANGE_S)
    wait_for_metric(st_page, "Cell size", lambda v: v == "400 m")
    other = st_page.stable_map_state()
    st_page.set_number("Cell size (m, 50–5,000)", 250)
    took = st_page.wait_for_map_change(other, timeout_s=CHANGE_S)
    print(f"\n[app] back to 250 m (cached): map redrawn in {took:.2f} s")
    wait_for_metric(st_page, "Cell size", lambda v: v == "250 m")
    again = st_page.stable_map_state()
    assert again == first  # the same density image, paths, markers and legends as the first time
    assert metrics(page) == first_numbers
    assert layer_labels(st_page.map_frame()) == LAYERS
    no_trouble(st_page)


def test_before_after_shows_two_synchronised_maps(st_page, app):
    page = st_page.page
    open_tab(st_page, "Before / after")
    wait_for_metric(st_page, "Cells with a significant fall", lambda v: True, timeout_s=CHANGE_S)

    def dual_frame():
        for f in page.frames:
            if "st_folium" in f.url:
                try:
                    if f.locator(".leaflet-container").count() == 2:
                        return f
                except Exception:
                    pass
        return None

    deadline = page.evaluate("Date.now()") + CHANGE_S * 1000
    frame = dual_frame()
    while frame is None and page.evaluate("Date.now()") < deadline:
        page.wait_for_timeout(100)
        frame = dual_frame()
    assert frame is not None, "no frame with two maps"
    frame.wait_for_function("document.querySelectorAll('.leaflet-image-layer').length == 2", timeout=60_000)
    boxes = [frame.locator(".leaflet-container").nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1 and boxes[0]["width"] > 300
    legends = frame.locator(".hotspots-legend").all_inner_texts()
    assert any(t.startswith("Before") for t in legends) and any(t.startswith("After") for t in legends)
    # Same colour scale on both sides (the legends' top ticks agree).
    tops = [re.findall(r"[\d,.]+", t.splitlines()[-1])[-1] for t in legends if t.startswith(("Before", "After"))]
    assert len(set(tops)) == 1, legends
    st_page.screenshot("before-after")
    frame.evaluate("map_div.panBy([250, 0], {animate: false})")
    lng = frame.evaluate("[map_div.getCenter().lng, map_div2.getCenter().lng]")
    assert lng[0] == pytest.approx(lng[1], abs=1e-6)
    # The change map and the per-hotspot table are there too.
    assert len([f for f in page.frames if "st_folium" in f.url]) >= 2
    # The change map shows the rings around the hotspot areas (displacement), with their legend.

    def change_frame():
        for f in page.frames:
            try:
                if "st_folium" in f.url and "Rings around hotspot areas" in layer_labels(f):
                    return f
            except Exception:
                pass
        return None

    frame = change_frame()
    while frame is None and page.evaluate("Date.now()") < deadline:
        page.wait_for_timeout(100)
        frame = change_frame()
    assert frame is not None, "no map with the rings around the hotspot areas"
    # with the emerging hot spots under the rings (off until switched on)
    want = ["Change in cells", "Emerging hot spots (trend over the months)", "Rings around hotspot areas", "Hotspot areas"]
    assert layer_labels(frame)[-4:] == want
    ticked = frame.locator(".leaflet-control-layers-overlays label").evaluate_all(
        "ls => ls.map(l => [l.innerText.trim(), l.querySelector('input').checked])"
    )
    assert dict(ticked)[want[1]] is False and dict(ticked)[want[2]] is True
    assert any(t.startswith("500 m rings: change") for t in frame.locator(".hotspots-legend").all_inner_texts())
    no_trouble(st_page)
    assert page.get_by_text("Change per hotspot").count() >= 1
    no_trouble(st_page)


def test_download_hotspot_areas(st_page, app, tmp_path):
    page = st_page.page
    n_areas = int(metrics(page)["Hotspot areas"].replace(",", ""))
    with page.expect_download(timeout=CHANGE_S * 1000) as info:
        page.get_by_role("button", name="Hotspot areas (GeoJSON)").click()
    download = info.value
    assert download.suggested_filename == "hotspot_areas.geojson"
    path = tmp_path / "areas.geojson"
    download.save_as(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == n_areas
    props = data["features"][0]["properties"]
    assert props["area_id"] == 1 and {"incidents", "before", "after", "change_class", "referrals"} <= set(props)
    geom = data["features"][0]["geometry"]  # a Polygon, or a MultiPolygon when cells touch only at a corner
    ring = geom["coordinates"][0] if geom["type"] == "Polygon" else geom["coordinates"][0][0]
    lon, lat = ring[0][:2]
    assert -2.2 < lon < -1.0 and 52.6 < lat < 53.6  # WGS84, in Derbyshire
    with page.expect_download(timeout=CHANGE_S * 1000) as info:
        page.get_by_role("button", name="Hotspot areas (CSV)").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == n_areas and rows[0]["area_id"] == "1"
    # The briefing map (drawn when clicked, offline: no basemap).
    if page.get_by_role("button", name="Briefing map (PNG)").count():
        from PIL import Image

        with page.expect_download(timeout=CHANGE_S * 1000) as info:
            page.get_by_role("button", name="Briefing map (PNG)").click()
        assert info.value.suggested_filename == "briefing_density.png"
        img = Image.open(info.value.path())
        assert img.format == "PNG" and img.size == (1650, 1125)  # 11 x 7.5 inches at 150 dpi
    no_trouble(st_page)


def test_download_briefing_maps_as_pdf(st_page, app):
    """The briefing format choice gives the library's PDF (the command line's `--out briefing.pdf`): both the map of the
    chosen layer and the before/after one download as files starting with %PDF."""
    page = st_page.page
    page.get_by_text("PDF", exact=True).click()  # the "Briefing format" radio
    page.get_by_role("button", name="Briefing map (PDF)").wait_for(timeout=CHANGE_S * 1000)
    briefs = (("Briefing map (PDF)", "briefing_density.pdf"), ("Before / after (PDF)", "briefing_before_after.pdf"))
    for name, file_name in briefs:
        with page.expect_download(timeout=CHANGE_S * 2000) as info:
            page.get_by_role("button", name=name).click()
        assert info.value.suggested_filename == file_name
        assert Path(info.value.path()).read_bytes()[:4] == b"%PDF"
    assert page.get_by_role("button", name="Briefing map (PNG)").count() == 0
    no_trouble(st_page)


def _police_csv() -> bytes:
    from helpers import police_csv

    from hotspots.demo import generate_demo

    inc = generate_demo(0).incidents
    sel = (inc["month"] >= "2023-01-01") & (inc["month"] < "2024-07-01") & (inc.geometry.x.between(430_000, 440_000)) & (
        inc.geometry.y.between(331_000, 341_000)
    )
    return police_csv(inc[sel].iloc[:2000], bad_rows=3, location="On or near <script>window.__pwned=1</script>")


def test_upload_a_csv_shows_its_load_report(st_page, app):
    page = st_page.page
    open_tab(st_page, "Data")
    chooser = page.locator('[data-testid="stFileUploader"]').first.locator('input[type="file"]')
    chooser.set_input_files({"name": PAYLOAD_NAME, "mimeType": "text/csv", "buffer": _police_csv()})
    # The file is loaded and becomes the data in use: its report shows read / kept / dropped.
    wait_for_metric(st_page, "Rows dropped", lambda v: v == "3", timeout_s=CHANGE_S)
    m = metrics(page)
    assert m["Rows read"] == "2,003" and m["Rows kept"] == "2,000"
    wait_for_metric(st_page, "Incidents analysed", lambda v: v == "2,000", timeout_s=CHANGE_S)
    # The file name shows literally (escaped): no image, no script.
    assert page.get_by_text("![x](http://evil.example/x.png).csv", exact=False).count() >= 1
    st_page.screenshot("upload")
    no_trouble(st_page)
