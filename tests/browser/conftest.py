"""Real-browser test harness: a Streamlit server in a subprocess, driven by Debian's Chromium.

Fixtures
--------
``streamlit_server``  (session) — a function ``start(script) -> url``: runs
    ``python -m streamlit run <script>`` from the repository root on a free local port, waits for
    ``/_stcore/health``, and stops the whole process group when the session ends (also after a
    failure). One server per script, reused across tests.
``browser``  (session) — Playwright's Chromium at ``/usr/bin/chromium`` (never a downloaded
    build; the tests are skipped with the reason when it is missing: ``scripts/setup --test``
    installs it).
``st_page``  (function) — a :class:`StreamlitPage`: a fresh browser context that records every
    request, aborts any that leave this machine (so nothing can depend on the internet, and such
    attempts are listed), collects JavaScript errors, finds the streamlit-folium map frame, and
    saves a screenshot under ``test-output/browser/`` at the end of each test.

Mark tests with ``@pytest.mark.browser``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent / "pages"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
INLINE_SCHEMES = {"data", "blob", "about", "chrome-error"}
SERVER_START_TIMEOUT_S = 90.0


# --------------------------------------------------------------------------- Streamlit server
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StreamlitServer:
    script: Path
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


def start_streamlit(script: Path, log_dir: Path, timeout_s: float = SERVER_START_TIMEOUT_S) -> StreamlitServer:
    """Start ``streamlit run script`` on a free port and wait until it answers its health check."""
    script = Path(script).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"no Streamlit script at {script}")
    port = _free_port()
    log_path = log_dir / f"streamlit-{script.stem}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    server = StreamlitServer(script, port, proc, log_path)
    deadline = time.monotonic() + timeout_s
    health = f"{server.url}/_stcore/health"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode} before answering:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(health, timeout=2) as r:  # noqa: S310 - local URL
                    if r.status == 200:
                        return server
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer {health} within {timeout_s:.0f} s:\n{server.log_tail()}")
            time.sleep(0.2)
    except BaseException:
        server.stop()
        raise


@pytest.fixture(scope="session")
def browser_output(test_output: Path) -> Path:
    d = test_output / "browser"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def streamlit_server(browser_output: Path) -> Iterator[Callable[..., str]]:
    """``start(script) -> base URL``; one server per script, all stopped at the end."""
    servers: dict[Path, StreamlitServer] = {}

    def start(script: str | Path) -> str:
        path = Path(script)
        if not path.is_absolute():
            path = REPO / path
        path = path.resolve()
        srv = servers.get(path)
        if srv is None or srv.proc.poll() is not None:
            t0 = time.perf_counter()
            srv = start_streamlit(path, browser_output)
            print(f"\n[harness] streamlit {path.name} up on port {srv.port} in {time.perf_counter() - t0:.1f} s")
            servers[path] = srv
        return srv.url

    try:
        yield start
    finally:
        for srv in servers.values():
            srv.stop()


# --------------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: browser tests drive Debian's Chromium (install it with "
            "`scripts/setup --test` or `apt-get install chromium`; never `playwright install`)"
        )
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (`pip install -e .[test]`)")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        pw.stop()
        raise
    try:
        yield b
    finally:
        b.close()
        pw.stop()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in INLINE_SCHEMES:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and (parts.hostname or "") in LOCAL_HOSTS


@dataclass
class StreamlitPage:
    """A browser page on a Streamlit app, with what the tests need to look at."""

    page: Any
    out_dir: Path
    name: str
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    t0: float = 0.0  # perf_counter() when goto() started

    # ------------------------------------------------------------------ navigation
    def goto(self, url: str, *, timeout_s: float = 60.0) -> None:
        self.t0 = time.perf_counter()
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
        # Streamlit's own page is up (the script's output follows over the websocket).
        self.page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_s * 1000)

    def map_frame(self, *, timeout_s: float = 60.0, index: int = 0) -> Any:
        """The streamlit-folium component frame (``index``-th map), once Leaflet is in it."""
        deadline = time.monotonic() + timeout_s
        while True:
            frames = [f for f in self.page.frames if "st_folium" in f.url]
            if len(frames) > index:
                fr = frames[index]
                try:
                    if fr.query_selector(".leaflet-container") is not None:
                        return fr
                except Exception:  # the frame may be navigating
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no streamlit-folium frame with a Leaflet map after {timeout_s:.0f} s; frames: "
                    f"{[f.url[:80] for f in self.page.frames]}; JS errors: {self.js_errors}; external requests: "
                    f"{self.external}"
                )
            self.page.wait_for_timeout(25)

    def wait_for_map(self, selectors: tuple[str, ...] = (".leaflet-container",), *, timeout_s: float = 60.0) -> Any:
        """Wait until every selector is present in the map frame; record the time since :meth:`goto`."""
        fr = self.map_frame(timeout_s=timeout_s)
        for sel in selectors:
            fr.wait_for_selector(sel, state="attached", timeout=timeout_s * 1000)
        self.timings["load_to_map_s"] = time.perf_counter() - self.t0
        return fr

    def map_state(self, *, timeout_s: float = 60.0, index: int = 0) -> dict[str, Any]:
        """What is drawn now: the raster images (their length and a hash of their ``src``) and
        the number of vector paths and markers. Compare two states to see a redraw.

        Streamlit may replace the map's frame between finding it and reading it (a rerun after a
        change of setting): a frame detached meanwhile is found again, within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            fr = self.map_frame(timeout_s=max(0.1, deadline - time.monotonic()), index=index)
            try:
                return self._read_map(fr)
            except Exception as exc:
                if "detached" not in str(exc) or time.monotonic() > deadline:
                    raise
            self.page.wait_for_timeout(25)

    @staticmethod
    def _read_map(fr: Any) -> dict[str, Any]:
        return fr.evaluate(
            """() => {
                const h = s => { let x = 0; for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0; return x; };
                const imgs = [...document.querySelectorAll('.leaflet-image-layer')];
                return {
                    images: imgs.map(i => [i.src.length, h(i.src), i.complete && i.naturalWidth > 0]),
                    paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
                    markers: document.querySelectorAll('.leaflet-marker-icon').length,
                    legends: [...document.querySelectorAll('.hotspots-legend')].map(e => e.innerText),
                };
            }"""
        )

    def stable_map_state(self, *, settle_s: float = 0.3, timeout_s: float = 30.0, index: int = 0) -> dict[str, Any]:
        """:meth:`map_state` once it has not changed for ``settle_s`` (marker clusters animate)."""
        deadline = time.monotonic() + timeout_s
        last, since = None, time.perf_counter()
        while True:
            now = self.map_state(timeout_s=timeout_s, index=index)
            if now != last:
                last, since = now, time.perf_counter()
            elif time.perf_counter() - since >= settle_s:
                return now
            if time.monotonic() > deadline:
                raise AssertionError(f"the map kept changing for {timeout_s:.0f} s")
            self.page.wait_for_timeout(50)

    def wait_for_map_change(self, before: dict[str, Any], *, timeout_s: float = 60.0, index: int = 0) -> float:
        """Wait until the map differs from ``before``, its images have loaded and it stays so for
        0.1 s (not a half-drawn frame); returns the seconds until the change was first seen."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        seen: tuple[float, dict[str, Any]] | None = None
        while True:
            try:
                now = self.map_state(timeout_s=max(0.1, deadline - time.monotonic()), index=index)
            except Exception:  # no map right now: the frame is being replaced
                now = None
            if now is not None and now != before and now["images"] and all(ok for _, _, ok in now["images"]):
                if seen is not None and seen[1] == now and time.perf_counter() - t0 - seen[0] >= 0.1:
                    return seen[0]
                if seen is None or seen[1] != now:
                    seen = (time.perf_counter() - t0, now)
            else:
                seen = None
            if time.monotonic() > deadline:
                raise AssertionError(f"the map did not change within {timeout_s:.0f} s (still {before})")
            self.page.wait_for_timeout(20)

    def set_number(self, label: str, value: float) -> None:
        """Type ``value`` into the Streamlit number input labelled ``label`` and submit it."""
        box = self.page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")

    # ------------------------------------------------------------------ checks
    def app_errors(self) -> list[str]:
        """Texts of the error and exception boxes Streamlit shows (``st.error``, tracebacks)."""
        boxes = self.page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
        return boxes.all_inner_texts()

    def eval_all_frames(self, js: str) -> list[Any]:
        """Evaluate ``js`` in the page and every frame."""
        return [f.evaluate(js) for f in self.page.frames]

    def screenshot(self, suffix: str = "") -> Path:
        path = self.out_dir / f"{self.name}{('-' + suffix) if suffix else ''}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def st_page(browser: Any, browser_output: Path, request: pytest.FixtureRequest) -> Iterator[StreamlitPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    sp = StreamlitPage(page=page, out_dir=browser_output, name=name)

    def on_route(route: Any) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            sp.external.append(url)
            route.abort("internetdisconnected")

    def on_request(req: Any) -> None:
        sp.requests.append(req.url)
        if not _is_local(req.url) and req.url not in sp.external:
            sp.external.append(req.url)

    def on_websocket(ws: Any) -> None:
        sp.requests.append(ws.url)
        if not _is_local(ws.url):
            sp.external.append(ws.url)

    context.route("**/*", on_route)
    page.on("request", on_request)
    page.on("websocket", on_websocket)
    page.on("pageerror", lambda exc: sp.js_errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: sp.js_errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    try:
        yield sp
    finally:
        try:
            sp.screenshot()
        except Exception as exc:  # a screenshot must not hide the test's own result
            print(f"[harness] screenshot failed: {exc}")
        if sp.timings:
            with open(browser_output / "timings.jsonl", "a") as f:
                f.write(json.dumps({"test": request.node.nodeid, **sp.timings}) + "\n")
        context.close()


@pytest.fixture(scope="session")
def map_page_script() -> Path:
    return PAGES / "map_page.py"

