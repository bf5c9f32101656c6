"""Script payloads in uploaded data never run in the real app (``streamlit run app.py``).

A data set whose text fields hold script payloads — task site names, task kinds, incident
location text, categories and other columns, referral offences — and whose file names are
payloads too is uploaded through the Data tab's file pickers (Playwright ``set_input_files``).
Then every tab is visited, every task-site tooltip and popup and every referral → task tooltip
on the map is opened (and one marker is clicked as a user would), and after each step:

* ``window.__pwned`` (which every payload would set) is undefined in the page and every frame;
* no element built from a payload exists (``<img src=x>``, an ``onerror`` attribute, a
  ``javascript:`` link, a ``<script>`` holding ``__pwned``);
* the payloads show literally: ``<script>`` in a tooltip, popup and the load report, ``{{7*7}}``
  as typed (never ``49``, which server-side template evaluation would give);
* the app shows no error box or traceback, and no request leaves the machine.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
FIRST_LOAD_S = 240.0  # the first page load computes the demo analysis (2-core machine)
STEP_S = 180.0

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '<a href="javascript:window.__pwned=1">click</a>',
    "[click me](javascript:window.__pwned=1)",
    "{{7*7}}",
    "`${window.__pwned=1}`",
    "${window.__pwned=1}",
    "</script><script>window.__pwned=1</script>",
    "'); window.__pwned=1; ('",
]
INCIDENT_FILE = "<img src=x onerror=window.__pwned=1>.csv"
REFERRAL_FILE = "[x](javascript:window.__pwned=1)`${window.__pwned=1}`.csv"
TASK_FILE = "<script>window.__pwned=1</script>{{7*7}}.csv"
BOX = (425_000, 445_000, 326_000, 346_000)  # 20 km around Derby, British National Grid

# Evaluated in every frame: anything a payload could have created.
INERT_JS = """() => ({
    pwned: typeof window.__pwned,
    imgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
    onerror: [...document.querySelectorAll('*')].filter(e => e.hasAttribute && e.hasAttribute('onerror')).length,
    jslinks: [...document.querySelectorAll('a[href]')].filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
    // raw (unescaped) payload text inside an inline script: data pasted into code unescaped
    scripts: [...document.querySelectorAll('script')]
      .filter(s => !s.src && /<script>window\\.__pwned|onerror="window/.test(s.textContent)).length,
})"""


def _in_box(gdf) -> pd.Series:
    x0, x1, y0, y1 = BOX
    return gdf.geometry.x.between(x0, x1) & gdf.geometry.y.between(y0, y1)


def site_names(n: int) -> list[str]:
    """Task-site names holding every payload: site i starts with payload i and the first sites
    end with the payloads that have no site of their own."""
    names = [f"{PAYLOADS[i % len(PAYLOADS)]} site {i}" for i in range(n)]
    for j, extra in enumerate(PAYLOADS[n:]):
        names[j % n] += f" {extra}"
    return names


def payload_files() -> tuple[bytes, bytes, bytes]:
    """Incidents (police.uk CSV), referrals and task sites around Derby, with payload text."""
    from hotspots.demo import generate_demo
    from hotspots.schema import POLICE_UK_COLUMNS

    d = generate_demo(0)
    inc = d.incidents
    sel = (inc["month"] >= "2022-07-01") & (inc["month"] < "2024-07-01") & _in_box(inc)
    part = inc[sel].sample(3000, random_state=0).sort_values("month")
    ll = part.to_crs(4326)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(POLICE_UK_COLUMNS)
    for i, (month, lon, lat) in enumerate(zip(part["month"].dt.strftime("%Y-%m"), ll.geometry.x, ll.geometry.y)):
        p = PAYLOADS[i % len(PAYLOADS)]
        category = "Anti-social behaviour" if i % 10 else p  # payload categories: dropped as not ASB
        w.writerow(
            [
                "",
                month,
                "Derbyshire Constabulary",
                p,
                f"{lon:.6f}",
                f"{lat:.6f}",
                f"On or near {p}",
                "E01000001",
                p,
                category,
                p,
                p,
            ]
        )
    incidents = buf.getvalue().encode("utf-8")

    tasks = d.tasks[_in_box(d.tasks)]
    t = pd.DataFrame(
        {
            "task_id": tasks["task_id"].tolist() + ["TX"],
            "kind": tasks["kind"].tolist() + [PAYLOADS[0]],  # an unknown kind: its warning quotes it
            "site_name": site_names(len(tasks)) + ["bad kind"],
            "easting": tasks.geometry.x.tolist() + [430_000.0],
            "northing": tasks.geometry.y.tolist() + [336_000.0],
        }
    )
    refs = d.referrals[_in_box(d.referrals) & d.referrals["task_id"].isin(set(tasks["task_id"]))]
    r = pd.DataFrame(refs.drop(columns="geometry"))
    r["easting"], r["northing"] = refs.geometry.x, refs.geometry.y
    bad = r.iloc[[0]].copy()
    bad["referral_id"], bad["offence"] = "IJ-BAD", PAYLOADS[4]  # unknown offence: its warning quotes it
    r = pd.concat([r, bad], ignore_index=True)
    return incidents, r.to_csv(index=False).encode("utf-8"), t.to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------- helpers
def metrics(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {lab.strip(): val.strip() for lab, val in zip(labels, values)}


def wait_until(page, what: str, check, timeout_s: float = STEP_S, st_page=None):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except Exception:  # the page is rerendering
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            errors = st_page.app_errors() if st_page is not None else []
            if st_page is not None:
                st_page.screenshot("timeout")
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()[:300]
            raise AssertionError(f"{what}: not seen after {timeout_s:.0f} s; app errors: {errors}; sidebar: {sidebar!r}")
        page.wait_for_timeout(100)


def assert_inert(st_page, where: str) -> None:
    """Nothing ran, nothing was built from a payload, no error box, nothing left the machine."""
    states = []
    for f in st_page.page.frames:
        try:
            states.append((f.url[:60], f.evaluate(INERT_JS)))
        except Exception:  # a frame that is being replaced
            continue
    assert states, where
    for url, s in states:
        assert s["pwned"] == "undefined", f"{where}: window.__pwned set in frame {url}"
        assert s["imgs"] == 0 and s["onerror"] == 0, f"{where}: an element built from a payload in {url}: {s}"
        assert s["jslinks"] == 0, f"{where}: a javascript: link in {url}"
        assert s["scripts"] == 0, f"{where}: a payload script element in {url}"
    assert st_page.app_errors() == [], f"{where}: {st_page.app_errors()}"
    assert st_page.external == [], f"{where}: requests left the machine: {st_page.external}"
    assert not [e for e in st_page.js_errors if e.startswith("pageerror")], f"{where}: {st_page.js_errors}"


def visible_text(page, text: str) -> int:
    """How many elements on the page show ``text`` (literally) in their rendered text."""
    return page.get_by_text(text, exact=False).count()


def uploader(page, label: str):
    return page.locator('[data-testid="stFileUploader"]').filter(has_text=label).locator('input[type="file"]')


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


# Opens every tooltip and popup of the task-site markers (each taken out of its cluster onto
# the map in turn) and of every other layer that has them; returns their rendered text.
OPEN_ALL_JS = """async () => {
    const sleep = ms => new Promise(r => setTimeout(r, ms));
    const out = [];
    const layers = [];
    map_div.eachLayer(l => layers.push(l));
    const clusters = layers.filter(l => typeof l.getLayers === 'function' && typeof l.zoomToShowLayer === 'function');
    const markers = [];
    let missing = 0;
    const views = [];
    const text = o => {
      const el = o && o.getElement && o.getElement(); if (!el) { missing++; return null; } return el.innerText;
    };
    for (const c of clusters) {
        for (const m of c.getLayers()) {
            markers.push(m);
            // Taken out of its cluster onto the map (the same marker object, with the tooltip
            // and popup the app bound to it) and put back afterwards. Not zoomToShowLayer:
            // markercluster never calls it back when the map does not move, and its
            // animations made the marker's state depend on timing.
            c.removeLayer(m);
            map_div.addLayer(m);
            map_div.setView(m.getLatLng(), map_div.getZoom(), {animate: false});
            await sleep(30);
            views.push({icon: !!m._icon, onmap: map_div.hasLayer(m)});
            if (m.getTooltip()) { m.openTooltip(); out.push(['marker tooltip', text(m.getTooltip())]); m.closeTooltip(); }
            if (m.getPopup()) { m.openPopup(); await sleep(10); out.push(['marker popup', text(m.getPopup())]); m.closePopup(); }
            map_div.removeLayer(m);
            c.addLayer(m);
        }
    }
    const others = [];
    map_div.eachLayer(l => {
      if (!markers.includes(l) && typeof l.getTooltip === 'function' && l.getTooltip() && l.getLatLngs) others.push(l);
    });
    for (const l of others) {
        l.openTooltip();
        await sleep(5);
        out.push(['path tooltip', text(l.getTooltip())]);
        l.closeTooltip();
    }
    return {markers: markers.length, paths: others.length, missing: missing, views: views, texts: out};
}"""


# Marks one task-site marker for Playwright: taken out of its cluster onto the map (as above,
# no zoomToShowLayer) and centred at street zoom.
TARGET_JS = """async () => {
    const layers = [];
    map_div.eachLayer(l => layers.push(l));
    const cluster = layers.find(l => typeof l.zoomToShowLayer === 'function');
    const m = cluster.getLayers()[0];
    cluster.removeLayer(m);
    map_div.addLayer(m);
    map_div.setView(m.getLatLng(), Math.max(map_div.getZoom(), 14), {animate: false});
    await new Promise(r => setTimeout(r, 300));
    m._icon.id = 'hotspots-test-target';
}"""


@pytest.fixture
def app(st_page, streamlit_server):
    st_page.goto(streamlit_server(APP), timeout_s=FIRST_LOAD_S)
    st_page.wait_for_map((".leaflet-container", ".leaflet-control-layers"), timeout_s=FIRST_LOAD_S)
    return st_page


def test_script_payloads_in_uploaded_data_never_run(app, tmp_path):
    st_page = app
    page = st_page.page
    t0 = time.perf_counter()
    incidents, referrals, tasks = payload_files()
    open_tab(page, "Data")
    # One file at a time, each once the previous one's load report is shown.
    uploader(page, "Reparative task sites").set_input_files({"name": TASK_FILE, "mimeType": "text/csv", "buffer": tasks})
    wait_until(page, "task-site load report", lambda: visible_text(page, "tasks: " + TASK_FILE), st_page=st_page)
    uploader(page, "Referrals into the scheme").set_input_files(
        {"name": REFERRAL_FILE, "mimeType": "text/csv", "buffer": referrals}
    )
    wait_until(page, "referral load report", lambda: visible_text(page, "referrals: " + REFERRAL_FILE), st_page=st_page)
    uploader(page, "Incidents").set_input_files({"name": INCIDENT_FILE, "mimeType": "text/csv", "buffer": incidents})

    # The files become the data in use (the incidents' file name is in the sidebar).
    wait_until(
        page,
        "uploaded data in use",
        lambda: page.locator('[data-testid="stSidebar"]').get_by_text(INCIDENT_FILE, exact=False).count(),
        st_page=st_page,
    )
    wait_until(
        page,
        "three load reports",
        lambda: all(visible_text(page, n) for n in (INCIDENT_FILE, REFERRAL_FILE, TASK_FILE)),
        st_page=st_page,
    )
    # 3,000 rows, 300 with payload categories (not ASB) dropped
    wait_until(
        page, "the uploaded incidents analysed", lambda: metrics(page).get("Incidents analysed") == "2,700", st_page=st_page
    )
    # The load report's warnings quote the bad values literally (escaped markdown, not HTML).
    assert visible_text(page, "'<script>window.__pwned=1</script>' (1 site)") >= 1  # the unknown task kind, kept
    assert visible_text(page, "not recognised: '{{7*7}}'") >= 1  # a referral kept, its offence "not recorded"
    st_page.screenshot("data-tab")
    assert_inert(st_page, "Data tab after the uploads")
    st_page.timings["upload_s"] = time.perf_counter() - t0

    # ------------------------------------------------------------------ map: tooltips and popups
    open_tab(page, "Map")
    st_page.wait_for_map((".leaflet-container", ".leaflet-marker-icon"), timeout_s=STEP_S)
    page.get_by_text("Referral → task flows", exact=True).click()  # the flows layer (its tooltips name the task site)
    frame = st_page.wait_for_map((".leaflet-container", ".leaflet-marker-icon"), timeout_s=STEP_S)
    # The flows layer arrives once the scheme's figures are protected (the map itself does not wait for that).
    frame.wait_for_function(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".some(l => l.textContent.includes('Referral → task'))",
        timeout=STEP_S * 1000,
    )
    frame.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 0", timeout=60_000)
    found = frame.evaluate(OPEN_ALL_JS)
    texts = [t for _, t in found["texts"]]
    kinds = {k for k, _ in found["texts"]}
    # 7 task sites: the site of the unknown (payload) kind is kept, with its kind as written
    assert found["markers"] == 7 and found["missing"] == 0, (found["views"], found)
    assert {"marker tooltip", "marker popup", "path tooltip"} <= kinds, found
    joined = "\n".join(texts)
    names = site_names(found["markers"] - 1) + ["bad kind"]  # the payload files' sites (payload_files)
    tooltips = sorted(t.strip() for k, t in found["texts"] if k == "marker tooltip")
    assert tooltips == sorted(names)  # every site name shows literally, as typed
    for p in PAYLOADS:
        assert p in joined, p
    assert any(k == "marker popup" and "{{7*7}} site" in t for k, t in found["texts"])
    assert any(k == "path tooltip" and "site" in t and any(p in t for p in PAYLOADS) for k, t in found["texts"])
    assert "49 site" not in joined
    assert_inert(st_page, "map tooltips and popups")

    # As a user would: the areas switched off in the layer control, a task site zoomed to (out
    # of its cluster), the mouse over it (tooltip) and a click on it (popup).
    for layer in ("Study area", "Incident density (KDE)", "Gi* hot and cold spots", "Hotspot areas", "Referral → task"):
        frame.locator(".leaflet-control-layers-overlays label").filter(has_text=layer).locator("input").uncheck()
    frame.evaluate(TARGET_JS)
    marker = frame.locator("#hotspots-test-target")
    marker.wait_for(state="visible", timeout=30_000)
    marker.hover()
    tip = frame.locator(".leaflet-tooltip")
    tip.first.wait_for(state="visible", timeout=10_000)
    assert tip.first.inner_text().strip() in names
    popup = frame.locator(".leaflet-popup-content")
    for _ in range(3):  # the first click may only focus the map's frame
        marker.click()
        page.wait_for_timeout(300)
        if popup.count():
            break
    popup.first.wait_for(state="visible", timeout=10_000)
    assert "Site" in popup.first.inner_text() and any(n in popup.first.inner_text() for n in names)
    st_page.screenshot("map-popup")
    assert_inert(st_page, "clicked marker")

    # ------------------------------------------------------------------ the other tabs
    open_tab(page, "Before / after")
    wait_until(page, "before/after figures", lambda: "Cells with a significant fall" in metrics(page), st_page=st_page)
    wait_until(page, "before/after maps", lambda: len([f for f in page.frames if "st_folium" in f.url]) >= 2, st_page=st_page)
    assert_inert(st_page, "Before / after tab")

    open_tab(page, "Scheme")
    wait_until(page, "scheme figures", lambda: visible_text(page, "Scheme figures"), st_page=st_page)
    wait_until(page, "KPI cards", lambda: "Referrals" in metrics(page), st_page=st_page)
    assert_inert(st_page, "Scheme tab")

    open_tab(page, "Analyst")
    wait_until(page, "analyst notes", lambda: visible_text(page, "Automatic choices and notes"), st_page=st_page)
    assert_inert(st_page, "Analyst tab")

    open_tab(page, "Data")
    wait_until(page, "data tab", lambda: visible_text(page, "Data in use"), st_page=st_page)
    # The file names show literally in the reports (markdown and HTML both inert).
    for name in (INCIDENT_FILE, REFERRAL_FILE, TASK_FILE):
        wait_until(page, f"the file name {name} shown literally", lambda name=name: visible_text(page, name), st_page=st_page)
    assert visible_text(page, "<script>window.__pwned=1</script>{{7*7}}.csv") >= 1  # not "49"
    assert_inert(st_page, "Data tab at the end")
    st_page.timings["whole_test_s"] = time.perf_counter() - t0
    print(
        f"\n[security] uploads and every tab checked in {st_page.timings['whole_test_s']:.1f} s "
        f"({found['markers']} markers, {found['paths']} lines opened)"
    )


# --------------------------------------------------------------------------- XSRF over HTTP
def _request(
    url: str, method: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, str, dict[str, str]]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - local URL
            return r.status, r.read().decode(errors="replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace"), dict(e.headers)


def test_upload_endpoint_refuses_requests_without_the_xsrf_token(streamlit_server):
    """The real app's server: a cross-site page cannot upload (or delete) files.

    Without the XSRF cookie and matching ``X-Xsrftoken`` header an upload is refused with 403
    before anything else is looked at; with a valid pair the request gets past the XSRF check
    (and is then refused for its made-up session, 400), so the check is what refused the others.
    """
    base = streamlit_server(APP)
    url = f"{base}/_stcore/upload_file/not-a-session/file-1"
    boundary = "hotspotsboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--{boundary}--\r\n"
    ).encode()
    form = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": "http://evil.example"}

    status, text, _ = _request(url, "PUT", headers=form, body=body)
    assert status == 403 and "XSRF" in text
    status, text, _ = _request(url, "DELETE", headers={"Origin": "http://evil.example"})
    assert status == 403 and "XSRF" in text
    status, _, _ = _request(url, "POST", headers=form, body=body)
    assert status in (403, 405)

    # The app's own pages hand out the XSRF cookie (the frontend echoes it in a header).
    status, _, headers = _request(f"{base}/_stcore/health", "GET")
    cookie = next((v for k, v in headers.items() if k.lower() == "set-cookie" and v.startswith("_streamlit_xsrf=")), None)
    assert status == 200 and cookie is not None, headers
    token = cookie.split(";", 1)[0].split("=", 1)[1].strip('"')
    # A forged token that does not match the cookie: refused.
    status, text, _ = _request(
        url, "PUT", headers={**form, "Cookie": f"_streamlit_xsrf={token}", "X-Xsrftoken": "2|00|00|0"}, body=body
    )
    assert status == 403 and "XSRF" in text
    # The matching pair passes the XSRF check; the made-up session is then refused.
    status, text, _ = _request(
        url, "PUT", headers={**form, "Cookie": f"_streamlit_xsrf={token}", "X-Xsrftoken": token}, body=body
    )
    assert status == 400 and "session" in text.lower(), (status, text)
