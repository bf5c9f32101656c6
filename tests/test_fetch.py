"""Tests for hotspots.fetch: the police.uk downloader against a local fake API (no network).

The fake API (``FakePoliceAPI``) serves the endpoints the fetcher uses from crimes generated in
the test, answers area queries by point-in-polygon, refuses areas holding too many crimes with
503 (as police.uk does above 10,000), and injects faults on request: HTTP statuses with or
without ``Retry-After``, truncated bodies, invalid JSON, slow answers.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from hotspots._errors import ParameterError
from hotspots.cli import main as cli_main
from hotspots.fetch import (
    CATEGORY_LABELS,
    STATE_FILE,
    FetchError,
    JsonClient,
    NotFound,
    RateLimiter,
    RetriesExhausted,
    RetryPolicy,
    TooManyResults,
    crime_to_row,
    fetch_police_uk,
    month_range,
)
from hotspots.fetch._http import parse_retry_after
from hotspots.fetch.police_uk import split_tile
from hotspots.io import load_police_uk
from hotspots.schema import POLICE_UK_COLUMNS

FORCE = "testshire"
FORCE_NAME = "Testshire Constabulary"
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
# Two neighbourhoods side by side (lon/lat).
HOODS = {
    "west": [(-1.60, 52.80), (-1.45, 52.80), (-1.45, 53.10), (-1.60, 53.10)],
    "east": [(-1.45, 52.80), (-1.30, 52.80), (-1.30, 53.10), (-1.45, 53.10)],
}


def make_crimes(seed: int = 0, months=MONTHS, per_month=(60, 80, 70, 50), no_location=2) -> tuple[dict, dict]:
    """Crimes per month in the API's JSON shape, and crimes without location per month."""
    rng = np.random.default_rng(seed)
    cats = list(CATEGORY_LABELS)
    crimes: dict[str, list] = {}
    noloc: dict[str, list] = {}
    next_id = 1000
    for m, n in zip(months, per_month):
        rows = []
        for _ in range(n):
            cat = cats[int(rng.integers(len(cats)))] if rng.random() < 0.6 else "anti-social-behaviour"
            lon = float(rng.uniform(-1.59, -1.31))
            lat = float(rng.uniform(52.81, 53.09))
            next_id += 1
            rows.append(
                {
                    "category": cat,
                    "location_type": "Force",
                    "location": {
                        "latitude": f"{lat:.6f}",
                        "longitude": f"{lon:.6f}",
                        "street": {"id": next_id, "name": f"On or near Street {next_id % 97}"},
                    },
                    "context": "",
                    "outcome_status": None if cat == "anti-social-behaviour" else {"category": "Under investigation", "date": m},
                    "persistent_id": "" if cat == "anti-social-behaviour" else f"{next_id:064x}",
                    "id": next_id,
                    "location_subtype": "",
                    "month": m,
                }
            )
        crimes[m] = rows
        nl = []
        for _ in range(no_location):
            next_id += 1
            nl.append(
                {
                    "category": "burglary",
                    "location_type": None,
                    "location": None,
                    "context": "",
                    "outcome_status": {"category": "Investigation complete; no suspect identified", "date": m},
                    "persistent_id": f"{next_id:064x}",
                    "id": next_id,
                    "location_subtype": "",
                    "month": m,
                }
            )
        noloc[m] = nl
    return crimes, noloc


@dataclass
class FakePoliceAPI:
    crimes: dict[str, list]
    noloc: dict[str, list]
    published: list[str]
    max_per_call: int = 10_000
    overlap: float = 0.0  # answer area queries with crimes within this many degrees of the area too
    # fault(kind, month, n) -> action or None; n counts earlier requests of the same (kind, month).
    fault: Callable[[str, str, int], Any] | None = None
    log: list[tuple[str, str, str]] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def crime_requests(self, month: str | None = None) -> int:
        return sum(1 for kind, m, _ in self.log if kind == "crimes-street" and (month is None or m == month))


def _handler(api: FakePoliceAPI):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # silence
            pass

        def do_GET(self):
            self._serve(urllib.parse.urlsplit(self.path), {})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(n).decode("ascii"))
            self._serve(urllib.parse.urlsplit(self.path), {k: v[0] for k, v in form.items()})

        def _send(self, status: int, body: bytes, headers: dict | None = None, *, truncate: bool = False):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()

        def _serve(self, url, form):
            params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
            params.update(form)
            parts = url.path.strip("/").split("/")
            assert parts[0] == "api"
            parts = parts[1:]
            month = params.get("date", "")
            if parts[0] == "forces" and len(parts) == 1:
                kind = "forces"
            elif parts[0] == "forces":
                kind = "force"
            elif parts[0] == "crimes-street-dates":
                kind = "dates"
            elif parts[0] == "crimes-street":
                kind = "crimes-street"
            elif parts[0] == "crimes-no-location":
                kind = "crimes-no-location"
            elif len(parts) == 2 and parts[1] == "neighbourhoods":
                kind = "neighbourhoods"
            elif len(parts) == 3 and parts[2] == "boundary":
                kind = "boundary"
            else:
                return self._send(404, b'{"error":"unknown"}')
            with api.lock:
                n = api.counts.get((kind, month), 0)
                api.counts[(kind, month)] = n + 1
                api.log.append((kind, month, params.get("poly", "")))
            action = api.fault(kind, month, n) if api.fault else None
            payload: Any
            if kind == "forces":
                payload = [{"id": FORCE, "name": FORCE_NAME}, {"id": "otherland", "name": "Otherland Police"}]
            elif kind == "force":
                if parts[1] != FORCE:
                    return self._send(404, b"{}")
                payload = {"id": FORCE, "name": FORCE_NAME}
            elif kind == "dates":
                payload = [{"date": m, "stop-and-search": []} for m in api.published]
            elif kind == "neighbourhoods":
                if parts[0] != FORCE:
                    return self._send(404, b"{}")
                payload = [{"id": k, "name": k.title()} for k in HOODS]
            elif kind == "boundary":
                if parts[0] != FORCE or parts[1] not in HOODS:
                    return self._send(404, b"{}")
                payload = [{"latitude": f"{lat}", "longitude": f"{lon}"} for lon, lat in HOODS[parts[1]]]
            elif kind == "crimes-street":
                if month not in api.crimes:
                    return self._send(404, b"[]")
                pts = [tuple(float(v) for v in pair.split(",")) for pair in params["poly"].split(":")]
                poly = Polygon([(lng, lat) for lat, lng in pts])
                if api.overlap:
                    poly = poly.buffer(api.overlap)
                cat = parts[1]
                sel = [
                    c
                    for c in api.crimes[month]
                    if (cat == "all-crime" or c["category"] == cat)
                    and shapely.intersects_xy(poly, float(c["location"]["longitude"]), float(c["location"]["latitude"]))
                ]
                if len(sel) > api.max_per_call:
                    return self._send(503, b"")
                payload = sel
            else:  # crimes-no-location
                if month not in api.noloc:
                    return self._send(404, b"[]")
                cat = params.get("category")
                payload = [c for c in api.noloc[month] if cat == "all-crime" or c["category"] == cat]
            body = json.dumps(payload).encode()
            if action is None:
                return self._send(200, body)
            what = action[0]
            if what == "status":
                return self._send(action[1], b'{"error": "fault"}', action[2] if len(action) > 2 else None)
            if what == "truncate":
                return self._send(200, body, truncate=True)
            if what == "badjson":
                return self._send(200, b"<html>Service temporarily unavailable</html>")
            if what == "sleep":
                time.sleep(action[1])
                return self._send(200, body)
            raise AssertionError(action)

    return H


class _FakeServer(ThreadingHTTPServer):
    """The fake API's server; a client that gave up (the timeout tests) is not an error to print,
    since the traceback would land in a later test's captured stderr."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


@pytest.fixture
def serve():
    """serve(api) -> base URL of a local fake police.uk API running in a thread."""
    servers = []

    def start(api: FakePoliceAPI) -> str:
        srv = _FakeServer(("127.0.0.1", 0), _handler(api))
        srv.daemon_threads = True
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        t.start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/api"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


class FakeClock:
    """A clock whose sleep advances time instantly; records every wait."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, d: float) -> None:
        self.sleeps.append(d)
        self.t += d


def fetch(base: str, out: Path, clock: FakeClock | None = None, **kw):
    clock = clock or FakeClock()
    kw.setdefault("rate", 1000.0)
    kw.setdefault("burst", 1000)
    kw.setdefault("retries", 3)
    kw.setdefault("timeout", 5.0)
    return fetch_police_uk(
        FORCE, kw.pop("start", MONTHS[0]), kw.pop("end", MONTHS[-1]), out, base_url=base, sleep=clock.sleep, clock=clock, **kw
    )


def expected_rows(crimes, noloc, months) -> int:
    return sum(len(crimes[m]) + len(noloc[m]) for m in months)


def fetch_cli(base: str, out: Path, start: str = "2024-01", end: str = "2024-02", *extra: str) -> int:
    """``hotspots fetch police-uk`` for the test force from ``start`` to ``end`` into ``out``; its exit status."""
    argv = ["fetch", "police-uk", "--force", FORCE, "--from", start, "--to", end, "--out", str(out), "--base-url", base]
    return cli_main(argv + list(extra))


# =========================================================================== check inputs
def test_month_range_inclusive_and_across_years():
    assert month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert month_range("2024-05", "2024-05") == ["2024-05"]


@pytest.mark.parametrize("a,b", [("2024-13", "2024-12"), ("2024-01-01", "2024-02"), ("2024-03", "2024-02"), ("jan", "2024-01")])
def test_month_range_rejects_bad(a, b):
    with pytest.raises(ParameterError, match="`(start|end)`"):
        month_range(a, b)


def test_bad_force_and_category(tmp_path):
    with pytest.raises(ParameterError, match="`force`"):
        fetch_police_uk("Derby shire!", "2024-01", "2024-01", tmp_path, base_url="http://127.0.0.1:9/api")
    with pytest.raises(ParameterError, match="`category`"):
        fetch_police_uk("derbyshire", "2024-01", "2024-01", tmp_path, category="asb", base_url="http://127.0.0.1:9/api")
    with pytest.raises(ParameterError, match="`base_url`"):
        fetch_police_uk("derbyshire", "2024-01", "2024-01", tmp_path, base_url="data.police.uk/api")


def test_unknown_force_is_parameter_error(serve, tmp_path):
    crimes, noloc = make_crimes()
    base = serve(FakePoliceAPI(crimes, noloc, MONTHS))
    with pytest.raises(ParameterError, match="no force 'nowhere'"):
        fetch_police_uk("nowhere", "2024-01", "2024-01", tmp_path, base_url=base, sleep=lambda s: None)


# =========================================================================== conversion
def test_crime_to_row_maps_every_column():
    crime = {
        "category": "violent-crime",
        "location": {"latitude": "52.9", "longitude": "-1.4", "street": {"id": 1, "name": "On or near High Street"}},
        "context": "ctx",
        "outcome_status": {"category": "Unable to prosecute suspect", "date": "2024-02"},
        "persistent_id": "abc",
        "id": 5,
        "month": "2024-01",
    }
    row = dict(zip(POLICE_UK_COLUMNS, crime_to_row(crime, month="2024-01", force_name="X Police")))
    assert row == {
        "Crime ID": "abc",
        "Month": "2024-01",
        "Reported by": "X Police",
        "Falls within": "X Police",
        "Longitude": "-1.4",
        "Latitude": "52.9",
        "Location": "On or near High Street",
        "LSOA code": "",
        "LSOA name": "",
        "Crime type": "Violence and sexual offences",
        "Last outcome category": "Unable to prosecute suspect",
        "Context": "ctx",
    }
    asb = dict(
        zip(
            POLICE_UK_COLUMNS,
            crime_to_row(
                {"category": "anti-social-behaviour", "location": None, "outcome_status": None, "persistent_id": ""},
                month="2024-03",
                force_name="X",
            ),
        )
    )
    assert (
        asb["Crime ID"] == ""
        and asb["Crime type"] == "Anti-social behaviour"
        and asb["Longitude"] == ""
        and asb["Month"] == "2024-03"
    )


def test_split_tile_covers_and_does_not_overlap():
    poly = Polygon([(0, 0), (4, 0), (4, 2), (1, 3), (0, 2)])
    parts = split_tile(poly)
    assert len(parts) == 4
    assert shapely.union_all(parts).symmetric_difference(poly).area < 1e-12
    assert sum(p.area for p in parts) == pytest.approx(poly.area)


# =========================================================================== happy path
def test_fetch_writes_police_uk_layout_that_loads(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    summary = fetch(serve(api), tmp_path)
    assert summary.ok and summary.fetched == MONTHS and summary.failed == []
    assert summary.rows == expected_rows(crimes, noloc, MONTHS)
    for m in MONTHS:
        f = tmp_path / f"{m}-{FORCE}-street.csv"
        assert f.exists()
        assert f.read_text().splitlines()[0] == ",".join(POLICE_UK_COLUMNS)
    assert not list(tmp_path.rglob("*.part"))
    data, report = load_police_uk(tmp_path)
    with_loc = sum(len(crimes[m]) for m in MONTHS)
    assert len(data) == with_loc
    assert report.rows_read == expected_rows(crimes, noloc, MONTHS)
    assert report.dropped == {"no location": sum(len(noloc[m]) for m in MONTHS)}
    # Category counts per month equal the fixture's.
    got = data.groupby([data["month"].dt.strftime("%Y-%m"), "category"]).size().to_dict()
    want: dict = {}
    for m in MONTHS:
        for c in crimes[m]:
            key = (m, CATEGORY_LABELS[c["category"]])
            want[key] = want.get(key, 0) + 1
    assert got == want
    # Coordinates survive (to the 6 decimals written) - compare the first crime's point in BNG.
    from pyproj import Transformer

    c0 = crimes[MONTHS[0]][0]
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        float(c0["location"]["longitude"]), float(c0["location"]["latitude"])
    )
    pts = np.column_stack([data.geometry.x, data.geometry.y])
    assert np.min(np.hypot(pts[:, 0] - x, pts[:, 1] - y)) < 0.01
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert {m: state["months"][m]["status"] for m in MONTHS} == dict.fromkeys(MONTHS, "done")
    assert state["force_name"] == FORCE_NAME


def test_category_filter_asks_api_for_that_category(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    summary = fetch(serve(api), tmp_path, category="anti-social-behaviour", start="2024-01", end="2024-02")
    n_asb = sum(1 for m in MONTHS[:2] for c in crimes[m] if c["category"] == "anti-social-behaviour")
    assert summary.rows == n_asb
    data, _ = load_police_uk(tmp_path)
    assert set(data["category"]) == {"Anti-social behaviour"}
    assert data["incident_id"].str.startswith("asb-").all()


def test_too_many_crimes_splits_area_and_deduplicates(serve, tmp_path):
    crimes, noloc = make_crimes()
    # At most 20 crimes per call and overlapping answers (crimes near tile edges come back twice).
    api = FakePoliceAPI(crimes, noloc, MONTHS, max_per_call=20, overlap=0.02)
    summary = fetch(serve(api), tmp_path)
    assert summary.ok
    assert summary.tiles > 4  # split at least twice
    assert summary.rows == expected_rows(crimes, noloc, MONTHS)  # duplicates removed by id
    data, report = load_police_uk(tmp_path)
    assert "duplicate id" not in report.dropped
    assert len(data) == sum(len(crimes[m]) for m in MONTHS)
    # The split is remembered: the second month needs no 503 round trips beyond the first's tiles.
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert len(state["tiles"]) == summary.tiles


# =========================================================================== failures
def test_month_not_published_is_skipped_not_fatal(serve, tmp_path):
    crimes, noloc = make_crimes()
    # 2024-04 is missing from the published list; 2024-03 is listed but the API answers 404.
    del crimes["2024-03"]
    api = FakePoliceAPI(crimes, noloc, MONTHS[:3])
    summary = fetch(serve(api), tmp_path)
    assert summary.ok
    assert summary.fetched == ["2024-01", "2024-02"]
    assert summary.not_published == ["2024-03", "2024-04"]
    assert "404" in summary.months[2].error and "published" in summary.months[3].error
    assert api.crime_requests("2024-04") == 0  # not even asked for
    assert not (tmp_path / f"2024-03-{FORCE}-street.csv").exists()
    assert "2 not published" in str(summary)


def test_429_retry_after_is_honoured(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: (
        ("status", 429, {"Retry-After": "7"}) if kind == "crimes-street" and m == "2024-02" and n < 2 else None
    )
    clock = FakeClock()
    summary = fetch(serve(api), tmp_path, clock=clock)
    assert summary.ok and summary.rows == expected_rows(crimes, noloc, MONTHS)
    assert summary.retries == {"HTTP 429": 2}
    assert clock.sleeps.count(7.0) == 2  # waited what the server asked, not the backoff


def test_413_polygon_too_long_splits_area(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: ("status", 413) if kind == "crimes-street" and n == 0 else None
    summary = fetch(serve(api), tmp_path, start="2024-01", end="2024-01")
    assert summary.ok and summary.tiles == 4 and summary.retries == {}
    assert summary.rows == expected_rows(crimes, noloc, ["2024-01"])


def test_503_with_retry_after_is_overload_not_split(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: ("status", 503, {"Retry-After": "1"}) if kind == "crimes-street" and n == 0 else None
    summary = fetch(serve(api), tmp_path)
    assert summary.ok and summary.tiles == 1
    assert summary.retries == {"HTTP 503": len(MONTHS)}


def test_503_on_other_endpoints_backs_off_exponentially(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: ("status", 503) if kind == "crimes-no-location" and m == "2024-01" and n < 3 else None
    clock = FakeClock()
    summary = fetch(serve(api), tmp_path, clock=clock, retries=3, backoff=0.5)
    assert summary.ok
    assert summary.retries == {"HTTP 503": 3}
    assert clock.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("fault,reason", [(("truncate",), "truncated body"), (("badjson",), "invalid JSON")])
def test_damaged_body_is_retried(serve, tmp_path, fault, reason):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: fault if kind == "crimes-street" and m == "2024-03" and n == 0 else None
    summary = fetch(serve(api), tmp_path)
    assert summary.ok and summary.rows == expected_rows(crimes, noloc, MONTHS)
    assert summary.retries == {reason: 1}


@pytest.mark.parametrize(
    "fault,reason", [(("truncate",), "truncated body"), (("badjson",), "invalid JSON"), (("status", 500), "HTTP 500")]
)
def test_persistent_damage_fails_the_month_and_is_reported(serve, tmp_path, fault, reason):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: fault if kind == "crimes-street" and m == "2024-02" else None
    summary = fetch(serve(api), tmp_path, retries=2)
    assert not summary.ok
    assert summary.failed == ["2024-02"]
    assert summary.fetched == ["2024-01", "2024-03", "2024-04"]
    assert reason in summary.months[1].error and "3 attempts" in summary.months[1].error
    assert "failed 2024-02" in str(summary)
    assert not (tmp_path / f"2024-02-{FORCE}-street.csv").exists()


def test_timeout_is_retried(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: ("sleep", 1.5) if kind == "dates" and n == 0 else None
    summary = fetch(serve(api), tmp_path, timeout=0.4, start="2024-01", end="2024-01")
    assert summary.ok and summary.fetched == ["2024-01"]
    assert summary.retries == {"timeout": 1}


def test_connection_refused_exhausts_retries(tmp_path):
    clock = FakeClock()
    client = JsonClient(
        "http://127.0.0.1:9/api", rate=100, policy=RetryPolicy(retries=2, backoff=0.25), sleep=clock.sleep, clock=clock
    )
    with pytest.raises(RetriesExhausted, match="connection error on every one of 3 attempts") as info:
        client.get_json("forces")
    assert info.value.attempts == 3
    assert clock.sleeps == [0.25, 0.5]


def test_client_raises_typed_errors(serve):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS, max_per_call=1)
    api.fault = lambda kind, m, n: ("status", 400) if kind == "neighbourhoods" else None
    base = serve(api)
    client = JsonClient(base, rate=100, policy=RetryPolicy(retries=1, backoff=0.01), sleep=lambda s: None)
    with pytest.raises(NotFound):
        client.get_json("forces/elsewhere")
    with pytest.raises(TooManyResults):
        client.get_json(
            "crimes-street/all-crime", form={"poly": "52.8,-1.6:52.8,-1.3:53.1,-1.3", "date": "2024-01"}, too_many_on_503=True
        )
    with pytest.raises(FetchError, match="HTTP 400"):
        client.get_json(f"{FORCE}/neighbourhoods")
    assert client.stats.requests == 3  # none of these is retried


# =========================================================================== resume
def test_resume_after_permanent_failure_fetches_only_missing_month(serve, tmp_path):
    crimes, noloc = make_crimes()
    broken = FakePoliceAPI(crimes, noloc, MONTHS)
    broken.fault = lambda kind, m, n: ("status", 500) if kind == "crimes-street" and m == "2024-03" else None
    first = fetch(serve(broken), tmp_path, retries=1)
    assert first.failed == ["2024-03"] and len(first.fetched) == 3
    stamps = {m: (tmp_path / f"{m}-{FORCE}-street.csv").stat().st_mtime_ns for m in first.fetched}

    healthy = FakePoliceAPI(crimes, noloc, MONTHS)
    second = fetch(serve(healthy), tmp_path)
    assert second.ok
    assert second.fetched == ["2024-03"]
    assert second.already_done == ["2024-01", "2024-02", "2024-04"]
    assert {m for kind, m, _ in healthy.log if kind in ("crimes-street", "crimes-no-location")} == {"2024-03"}
    assert healthy.counts.get(("neighbourhoods", ""), 0) == 0  # area remembered from the first run
    assert {m: (tmp_path / f"{m}-{FORCE}-street.csv").stat().st_mtime_ns for m in first.fetched} == stamps
    data, _ = load_police_uk(tmp_path)
    assert len(data) == sum(len(crimes[m]) for m in MONTHS)


def test_resume_after_interruption(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    base = serve(api)

    def interrupt(res):
        if res.month == "2024-02":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(base, tmp_path, progress=interrupt)
    assert (tmp_path / f"2024-02-{FORCE}-street.csv").exists()
    assert not (tmp_path / f"2024-03-{FORCE}-street.csv").exists()
    # A half-written file from a crash is never mistaken for a month.
    (tmp_path / f"2024-03-{FORCE}-street.csv.part").write_text("Crime ID,Mo")
    api.log.clear()
    again = fetch(base, tmp_path)
    assert again.already_done == ["2024-01", "2024-02"] and again.fetched == ["2024-03", "2024-04"]
    assert {m for kind, m, _ in api.log if kind == "crimes-street"} == {"2024-03", "2024-04"}
    assert not list(tmp_path.rglob("*.part"))
    assert again.rows == expected_rows(crimes, noloc, MONTHS)


def test_changed_or_deleted_file_is_fetched_again(serve, tmp_path):
    crimes, noloc = make_crimes()
    base = serve(FakePoliceAPI(crimes, noloc, MONTHS))
    fetch(base, tmp_path, start="2024-01", end="2024-02")
    (tmp_path / f"2024-01-{FORCE}-street.csv").unlink()
    with open(tmp_path / f"2024-02-{FORCE}-street.csv", "a") as fh:
        fh.write("truncated,row\n")
    again = fetch(base, tmp_path, start="2024-01", end="2024-02")
    assert again.fetched == ["2024-01", "2024-02"]


def test_other_download_in_folder_is_refused(serve, tmp_path):
    crimes, noloc = make_crimes()
    base = serve(FakePoliceAPI(crimes, noloc, MONTHS))
    fetch(base, tmp_path, start="2024-01", end="2024-01")
    with pytest.raises(ParameterError, match="already holds .*refresh"):
        fetch(base, tmp_path, start="2024-01", end="2024-01", category="burglary")
    again = fetch(base, tmp_path, start="2024-01", end="2024-01", category="burglary", refresh=True)
    assert again.fetched == ["2024-01"]


# =========================================================================== rate limiting
def test_rate_limiter_spaces_requests():
    clock = FakeClock()
    lim = RateLimiter(2.0, burst=3, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(7):
        lim.acquire()
        times.append(clock.t)
    assert times[:3] == [0.0, 0.0, 0.0]  # the burst
    gaps = np.diff(times[2:])
    assert np.allclose(gaps, 0.5)  # then 2 per second


def test_fetch_respects_rate(serve, tmp_path):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    clock = FakeClock()
    summary = fetch(serve(api), tmp_path, clock=clock, rate=2.0, burst=1)
    # n requests at 2/s with no burst need (n - 1) / 2 seconds of waiting at least.
    assert sum(clock.sleeps) >= (summary.requests - 1) / 2.0 - 1e-9


def test_parse_retry_after_forms():
    from datetime import datetime

    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0


# =========================================================================== CLI
def test_cli_fetch_police_uk(serve, tmp_path, capsys):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    base = serve(api)
    rc = fetch_cli(base, tmp_path, "2024-01", "2024-02", "--rate", "100")
    out = capsys.readouterr().out
    assert rc == 0
    assert "2024-01: fetched" in out and "2 fetched" in out
    rc = fetch_cli(base, tmp_path, "2024-13", "2024-02")
    assert rc == 2
    assert "`--from` must be a month written YYYY-MM" in capsys.readouterr().err  # the flag, not the library's `start`


def test_cli_fetch_partial_failure_exit_status(serve, tmp_path, capsys):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    api.fault = lambda kind, m, n: ("status", 500) if kind == "crimes-street" and m == "2024-02" else None
    base = serve(api)
    rc = fetch_cli(base, tmp_path, "2024-01", "2024-02", "--rate", "100", "--retries", "0", "--quiet")
    assert rc == 3
    assert "1 failed" in capsys.readouterr().out


def test_boundary_given_skips_neighbourhood_calls(serve, tmp_path):
    import geopandas as gpd

    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    area = gpd.GeoDataFrame(geometry=[shapely.box(-1.6, 52.8, -1.3, 53.1)], crs=4326).to_crs(27700)
    summary = fetch(serve(api), tmp_path, boundary=area, start="2024-01", end="2024-01")
    assert summary.ok and summary.rows == expected_rows(crimes, noloc, ["2024-01"])
    assert api.counts.get(("neighbourhoods", ""), 0) == 0 and api.counts.get(("boundary", ""), 0) == 0
    with pytest.raises(ParameterError, match="longitude/latitude"):
        fetch(serve(api), tmp_path / "b", boundary=shapely.box(400000, 300000, 410000, 310000))


def test_missing_boundary_file_fails_before_any_request(serve, tmp_path):
    from hotspots._errors import InputError

    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    base = serve(api)
    t0 = time.perf_counter()
    with pytest.raises(InputError):
        fetch(base, tmp_path / "out", boundary=tmp_path / "missing.geojson")
    assert api.log == []  # nothing was asked of the network
    # The CLI too, against an address where nothing answers: immediate, no 31 s of retries.
    missing = str(tmp_path / "missing.geojson")
    rc = fetch_cli("http://127.0.0.1:9/api", tmp_path / "o2", "2024-01", "2024-01", "--boundary", missing)
    assert rc == 2 and time.perf_counter() - t0 < 5


def test_default_out_is_data_police_uk_force(serve, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path / "data"))
    crimes, noloc = make_crimes()
    summary = fetch(serve(FakePoliceAPI(crimes, noloc, MONTHS)), None, start="2024-01", end="2024-01")
    assert summary.out == tmp_path / "data" / "police_uk" / FORCE
    assert (summary.out / f"2024-01-{FORCE}-street.csv").exists()
    from hotspots.datadir import force_folders

    (found,) = force_folders()
    assert found.id == FORCE and found.months == ("2024-01", "2024-01") and found.boundary is None


# =========================================================================== force boundary
def test_fetch_force_boundary_unions_neighbourhoods(serve, tmp_path, monkeypatch):
    import geopandas as gpd

    from hotspots.fetch import fetch_force_boundary
    from hotspots.io import load_boundary

    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path / "data"))
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    clock = FakeClock()
    res = fetch_force_boundary(FORCE_NAME, base_url=serve(api), rate=1000, burst=1000, sleep=clock.sleep, clock=clock)
    assert res.path == tmp_path / "data" / "boundaries" / f"{FORCE}.geojson"
    assert res.force == FORCE and res.name == FORCE_NAME and res.neighbourhoods == 2 and res.polygons == 1
    # /forces (name -> id), /neighbourhoods, two boundaries.
    assert res.requests == 4
    expected = shapely.box(-1.60, 52.80, -1.30, 53.10)
    gdf = gpd.read_file(res.path)
    assert gdf.crs.to_epsg() == 4326 and gdf.loc[0, "name"] == FORCE_NAME and gdf.loc[0, "force"] == FORCE
    assert "union of 2 neighbourhood" in gdf.loc[0, "source"] and "Open Government Licence" in gdf.loc[0, "licence"]
    assert gdf.geometry.iloc[0].symmetric_difference(expected).area < 1e-9
    # ~ 20.2 km x 33.4 km
    assert 600 < res.area_km2 < 730 and "2 police.uk neighbourhoods" in res.summary()
    area = load_boundary(res.path)
    assert len(area) == 1 and area.crs.to_epsg() == 27700
    from hotspots.datadir import boundary_path

    assert boundary_path(FORCE) == res.path and boundary_path("Leicestershire Police").name == "leicestershire.geojson"


def test_fetch_force_boundary_errors(serve, tmp_path):
    from hotspots.fetch import fetch_force_boundary

    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    base = serve(api)
    kw = dict(base_url=base, rate=1000, burst=1000, retries=0)
    with pytest.raises(ParameterError, match="no force 'Atlantis'"):
        fetch_force_boundary("Atlantis", tmp_path / "a.geojson", **kw)
    with pytest.raises(ParameterError, match="no neighbourhoods"):
        fetch_force_boundary("otherland", tmp_path / "b.geojson", **kw)
    with pytest.raises(ParameterError, match="folder"):
        fetch_force_boundary(FORCE, tmp_path, **kw)
    with pytest.raises(ParameterError, match="empty"):
        fetch_force_boundary(" ", **kw)
    api.fault = lambda kind, m, n: ("status", 500) if kind == "boundary" else None
    with pytest.raises(FetchError):
        fetch_force_boundary(FORCE, tmp_path / "c.geojson", **kw)
    assert not (tmp_path / "c.geojson").exists()


def test_cli_fetch_boundary(serve, tmp_path, capsys):
    crimes, noloc = make_crimes()
    base = serve(FakePoliceAPI(crimes, noloc, MONTHS))
    out = tmp_path / "b.geojson"
    rc = cli_main(["fetch", "boundary", "--force", FORCE, "--out", str(out), "--base-url", base, "--rate", "100"])
    assert rc == 0 and out.exists()
    assert "Testshire Constabulary boundary: union of 2" in capsys.readouterr().out
    rc = cli_main(
        ["fetch", "boundary", "--force", "nowhere", "--out", str(out), "--base-url", base, "--rate", "100", "--retries", "0"]
    )
    assert rc == 2 and "no force 'nowhere'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--boundary", "{tmp}/missing.geojson"], "`--boundary` '{tmp}/missing.geojson' does not exist; check the path."),
        (["--out", "{tmp}/no/such"], "`--out` '{tmp}/no/such' is in a folder that does not exist ('{tmp}/no')"),
        (["--category", "bad"], "`--category` must be 'all-crime' or one of: anti-social-behaviour"),
        (["--force", "bad force!"], "`--force` must be a police.uk force id such as 'derbyshire'"),
        (["--rate", "0"], "`--rate` must be a number greater than 0; got 0.0."),
        (["--from", "2024-13"], "`--from` must be a month written YYYY-MM"),
        (["--from", "2024-05", "--to", "2024-01"], "`--to` (2024-01) is before `--from` (2024-05);"),
    ],
)
def test_cli_fetch_police_uk_checks_flags_before_any_request(serve, tmp_path, capsys, extra, message):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    base = serve(api)
    argv = ["fetch", "police-uk", "--force", FORCE, "--from", "2024-01", "--to", "2024-01", "--base-url", base]
    rc = cli_main(argv + [a.format(tmp=tmp_path) for a in extra])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("hotspots fetch police-uk: error: " + message.format(tmp=tmp_path)), err
    assert err.count("\n") == 1 and "usage:" not in err
    assert api.log == []  # nothing was asked of the network
    assert not (tmp_path / "no").exists()  # no folder above the one named is ever created


@pytest.mark.parametrize(
    "out, message",
    [
        ("/dev/null/b.geojson", "`--out` '/dev/null/b.geojson': '/dev/null' is not a folder"),
        ("{tmp}/no/b.geojson", "`--out` '{tmp}/no/b.geojson' is in a folder that does not exist"),
        ("{tmp}", "`--out` '{tmp}' is a folder; give a file path."),
    ],
)
def test_cli_fetch_boundary_checks_out_before_any_request(serve, tmp_path, capsys, out, message):
    crimes, noloc = make_crimes()
    api = FakePoliceAPI(crimes, noloc, MONTHS)
    rc = cli_main(["fetch", "boundary", "--force", FORCE, "--out", out.format(tmp=tmp_path), "--base-url", serve(api)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"hotspots fetch boundary: error: {message.format(tmp=tmp_path)}"), err
    assert err.count("\n") == 1
    assert api.log == [] and not (tmp_path / "no").exists()
