"""The app on a real force's folder under data/ (issue 13), in a real browser.

The test builds a data folder in a temporary directory from the real Leicestershire files in
``../shared/data/police_uk/leicestershire`` (copied, never committed), starts the app with
``HOTSPOTS_DATA_DIR`` pointing at it, picks the force in the sidebar and checks what a
Leicestershire user sees: the force in the title, street-scale cells, the study area drawn from
the data around Leicestershire, hotspot areas labelled with Leicestershire places and never with
Derbyshire's towns. Skipped when the shared data are absent.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from test_app_browser import APP, FIRST_LOAD_S, metrics, no_trouble, open_tab, wait_for_metric

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

DERBYSHIRE_TOWNS = ("Killamarsh", "Hadfield", "Melbourne", "New Mills", "Long Eaton", "Chesterfield", "Glossop", "Matlock")


@pytest.fixture(scope="module")
def leics_data(police_uk_dir: Path, tmp_path_factory) -> Path:
    src = police_uk_dir / "leicestershire"
    files = sorted(src.glob("*-leicestershire-street.csv"))
    if not files:
        pytest.skip(f"Leicestershire police.uk files not found in {src}")
    root = tmp_path_factory.mktemp("data")
    dest = root / "police_uk" / "leicestershire"
    dest.mkdir(parents=True)
    for f in files:
        shutil.copy(f, dest / f.name)
    return root


@pytest.fixture(scope="module")
def force_app(leics_data: Path, streamlit_server, tmp_path_factory) -> str:
    # The app as is, run by a two-line script that points HOTSPOTS_DATA_DIR at the test's folder
    # (a server of its own: the other browser tests' server keeps the plain app).
    script = tmp_path_factory.mktemp("app") / "app_force_data.py"
    script.write_text(
        "import os, runpy\n"
        f"os.environ['HOTSPOTS_DATA_DIR'] = {str(leics_data)!r}\n"
        f"runpy.run_path({str(APP)!r}, run_name='__main__')\n"
    )
    return streamlit_server(script)


def test_app_on_a_leicestershire_folder(st_page, force_app):
    page = st_page.page
    st_page.goto(force_app, timeout_s=FIRST_LOAD_S)
    # The demo first; the forces found under data/police_uk/ are offered beside it.
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stSelectbox"]', timeout=FIRST_LOAD_S * 1000)
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    box.click()
    page.get_by_role("option", name=re.compile(r"^Leicestershire Police: 12 monthly file\(s\), 2025-01 to 2025-12")).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('Leicestershire Police'))",
        timeout=FIRST_LOAD_S * 1000,
    )
    assert "Anti-social behaviour hotspots — Leicestershire Police" in page.locator("h1").first.inner_text()
    wait_for_metric(st_page, "Incidents analysed", lambda v: v == "14,175", timeout_s=FIRST_LOAD_S)  # 3 outside the study area
    m = metrics(page)
    assert m["Cell size"] == "500 m"
    frame = st_page.wait_for_map((".leaflet-container", ".leaflet-control-layers"), timeout_s=FIRST_LOAD_S)
    # The map shows Leicestershire: the view fitted to the study area is around Leicester.
    centre = frame.evaluate(
        """() => { for (const k in window) { const v = window[k];
                 if (v && v instanceof L.Map) { const c = v.getBounds().getCenter(); return [c.lng, c.lat]; } } return null; }"""
    )
    assert centre is not None and -1.5 < centre[0] < -0.7 and 52.4 < centre[1] < 52.9, centre
    # Hotspot areas are labelled with Leicestershire places (their tooltips and popups), not Derbyshire's.
    html = frame.evaluate(
        """() => { const out = []; for (const k in window) { const v = window[k];
                 if (v && v instanceof L.Map) v.eachLayer(l => { if (l.feature && l.feature.properties)
                   out.push(JSON.stringify(l.feature.properties)); }); } return out.join("\\n"); }"""
    )
    assert "East Gates, Leicester" in html and "Loughborough" in html
    # as a town (a label's ", Town" or the town property), not a street ("Melbourne Street", Coalville)
    assert not [t for t in DERBYSHIRE_TOWNS if f', {t}"' in html or f'"{t}"' in html]
    # The study area came from the data, and the strays it left out are announced.
    open_tab(st_page, "Data")
    page.wait_for_function("() => document.body.innerText.includes('footprint of the incidents')", timeout=CHANGE_TIMEOUT_MS)
    text = page.inner_text("body")
    assert "holding 14,175 of 14,178 incidents" in text and "left out 3 incident(s)" in text
    assert "force: Leicestershire Police" in text
    st_page.screenshot("leicestershire")
    no_trouble(st_page)


CHANGE_TIMEOUT_MS = 120_000
