"""The browser harness checks itself on a small map page (tests/browser/pages/map_page.py).

It proves that a map built with :mod:`hotspots.maps` draws inside Streamlit with no internet, has
its layers, shows script payloads as text without running them, and that the harness notices a
request leaving the machine.
"""

from __future__ import annotations

import time

import pytest
from helpers import PAYLOADS

pytestmark = pytest.mark.browser

LAYERS = [
    "Study area",
    "Density " + PAYLOADS[0],
    "Areas " + PAYLOADS[1],
    "Task sites " + PAYLOADS[4],
]
MAP_READY = (
    ".leaflet-container",
    ".leaflet-image-layer",
    ".leaflet-overlay-pane svg path",
    ".leaflet-control-layers",
    ".hotspots-legend",
    ".hotspots-marker",
)


def _no_pwned(st_page) -> None:
    kinds = st_page.eval_all_frames("typeof window.__pwned")
    assert kinds and all(k == "undefined" for k in kinds), f"a payload ran: window.__pwned in frames = {kinds}"


@pytest.fixture
def map_ready(st_page, streamlit_server, map_page_script):
    st_page.goto(streamlit_server(map_page_script))
    frame = st_page.wait_for_map(MAP_READY)
    print(f"\n[harness] page load -> map drawn: {st_page.timings['load_to_map_s']:.2f} s")
    return frame


def test_map_draws_offline_with_all_layers(st_page, map_ready):
    frame = map_ready
    # The raster, the GeoJSON paths (outline + 2 areas), the clustered and lone markers.
    assert frame.locator(".leaflet-image-layer").count() == 1
    src = frame.locator(".leaflet-image-layer").get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    assert frame.locator(".leaflet-overlay-pane svg path").count() == 3
    assert frame.locator(".marker-cluster").count() >= 1  # the tight bunch of 20 sites
    assert frame.locator(".hotspots-marker").count() >= 2  # the two lone sites
    # The image actually loaded and has a size on screen.
    loaded = frame.evaluate(
        "() => { const i = document.querySelector('.leaflet-image-layer');"
        " return i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 10; }"
    )
    assert loaded
    # The component frame got a real height (it stays 0 when Leaflet/jQuery fail to load).
    box = st_page.page.locator('iframe[title*="st_folium"]').bounding_box()
    assert box is not None and box["height"] >= 500
    # Layer names show literally (escaped), in order.
    labels = [t.strip() for t in frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert labels == LAYERS
    # Everything came from this machine.
    assert st_page.external == [], f"requests left the machine: {st_page.external}"
    assert st_page.requests, "the request recorder saw nothing"
    assert not [e for e in st_page.js_errors if "pageerror" in e], st_page.js_errors
    assert st_page.app_errors() == []
    _no_pwned(st_page)


def test_payloads_show_as_text_in_tooltips_popups_and_legends(st_page, map_ready):
    frame = map_ready
    page = st_page.page
    legends = " ".join(frame.locator(".hotspots-legend").all_inner_texts())
    assert PAYLOADS[0] in legends  # raster legend title and category label

    # Hover the first area: its tooltip shows the name literally.
    areas = frame.locator("path.leaflet-interactive")
    assert areas.count() == 2
    box = areas.nth(0).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    frame.wait_for_selector(".leaflet-tooltip", timeout=10_000)
    tip = frame.locator(".leaflet-tooltip").inner_text()
    assert PAYLOADS[0] in tip and "12" in tip

    # Click it: the popup shows the name and the backtick/${}/backslash note literally.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    frame.wait_for_selector(".leaflet-popup-content", timeout=10_000)
    popup = frame.locator(".leaflet-popup-content").inner_text()
    assert PAYLOADS[0] in popup and PAYLOADS[3] in popup

    # Second area: the <img onerror> name and the </script> note.
    box = areas.nth(1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    frame.wait_for_function(
        "t => document.querySelector('.leaflet-popup-content') && "
        "document.querySelector('.leaflet-popup-content').innerText.includes(t)",
        arg=PAYLOADS[4],
        timeout=10_000,
    )
    popup = frame.locator(".leaflet-popup-content").inner_text()
    assert PAYLOADS[1] in popup  # as the alias (label) and as the value
    assert popup.count(PAYLOADS[1]) == 2

    # A lone site marker: the javascript: URL shows as text in its popup, not as a link.
    marker = None
    for i in range(frame.locator(".hotspots-marker").count()):
        m = frame.locator(".hotspots-marker").nth(i)
        m.hover()
        frame.wait_for_timeout(150)
        if PAYLOADS[2] in " ".join(frame.locator(".leaflet-tooltip").all_inner_texts()):
            marker = m
            break
    assert marker is not None, "no marker tooltip showed the javascript: payload"
    marker.click()
    frame.wait_for_function(
        "t => [...document.querySelectorAll('.leaflet-popup-content')].some(p => p.innerText.includes(t))",
        arg=PAYLOADS[2],
        timeout=10_000,
    )
    assert frame.locator(".leaflet-popup-content a").count() == 0
    assert frame.locator(".leaflet-container img:not(.leaflet-image-layer)").count() == 0  # no injected <img>
    assert st_page.external == []
    _no_pwned(st_page)


def test_harness_notices_requests_that_leave_the_machine(st_page, streamlit_server, map_page_script):
    # With OpenStreetMap tiles the map asks the internet for tiles: the harness must see (and
    # block) those requests, or the offline checks above would prove nothing.
    # (The same page load checks that error boxes are seen.)
    st_page.goto(streamlit_server(map_page_script) + "/?basemap=osm&error=1")
    st_page.wait_for_map((".leaflet-container", ".leaflet-tile-pane img"))
    st_page.page.wait_for_timeout(500)
    assert any("tile.openstreetmap.org" in u for u in st_page.external), st_page.external
    assert st_page.app_errors() == ["harness error box: " + PAYLOADS[0]]


def _settled(frame, expression: str, *, quiet_s: float = 0.5, timeout_s: float = 20.0):
    """The value of ``expression`` once it has not changed for ``quiet_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    value, since = frame.evaluate(expression), time.monotonic()
    while time.monotonic() - since < quiet_s:
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression} kept changing for {timeout_s:.0f} s (last {value})")
        frame.page.wait_for_timeout(50)
        now = frame.evaluate(expression)
        if now != value:
            value, since = now, time.monotonic()
    return value


def test_dual_map_draws_two_synchronised_maps(st_page, streamlit_server, map_page_script):
    st_page.goto(streamlit_server(map_page_script) + "/?dual=1")
    frame = st_page.wait_for_map((".leaflet-container", ".leaflet-image-layer"))
    print(f"\n[harness] page load -> dual map drawn: {st_page.timings['load_to_map_s']:.2f} s")
    frame.wait_for_function("document.querySelectorAll('.leaflet-image-layer').length == 2", timeout=10_000)
    assert frame.locator(".leaflet-container").count() == 2
    # Side by side, each half of the frame's width.
    boxes = [frame.locator(".leaflet-container").nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1
    assert boxes[0]["width"] == pytest.approx(boxes[1]["width"], rel=0.02) and boxes[0]["width"] > 400
    assert frame.locator(".hotspots-legend").count() == 2
    # Both maps got their header styles (legend box, background) inside the component frame.
    styles = frame.evaluate(
        "[...document.querySelectorAll('.hotspots-legend, .leaflet-container')]"
        ".map(e => getComputedStyle(e).backgroundColor)"
    )
    assert styles.count("rgb(244, 244, 241)") == 2, styles  # the maps' background (#f4f4f1)
    assert all(s not in ("rgba(0, 0, 0, 0)", "rgb(221, 221, 221)") for s in styles), styles
    # Panning the left map moves the right one (Leaflet.Sync, inlined).
    # The maps settle first (initial fit and resize can move them just after the first draw).
    before = _settled(frame, "[map_div.getCenter().lng, map_div2.getCenter().lng]")
    assert before[0] == pytest.approx(before[1], abs=1e-9)
    frame.evaluate("map_div.panBy([300, 0], {animate: false})")
    after = _settled(frame, "[map_div.getCenter().lng, map_div2.getCenter().lng]")
    assert after[0] > before[0] + 0.01  # moved east by 300 px (~0.04 degrees)
    assert after[1] == pytest.approx(after[0], abs=1e-6)
    assert st_page.external == []
    _no_pwned(st_page)


def test_parameter_change_redraws_the_map(st_page, map_ready):
    before = st_page.stable_map_state()
    st_page.set_number("Hot value", 400)
    took = st_page.wait_for_map_change(before)
    print(f"\n[harness] parameter change -> map redrawn: {took:.2f} s")
    st_page.timings["change_to_map_s"] = took
    after = st_page.stable_map_state()
    assert after["images"][0][:2] != before["images"][0][:2]  # a new raster
    assert after["paths"] == before["paths"] and after["markers"] == before["markers"]
    # The legend follows the new range: 51 coloured cells (50 at 6, one hot), so the 99th
    # percentile is halfway between 6 and the hot value: 23 before, 203 after.
    assert "≥ 23" in before["legends"][1] and "≥ 203" in after["legends"][1]
    assert st_page.external == []
