"""Helpers shared by several test modules (importable as ``helpers``: pytest puts ``tests/`` on
``sys.path`` when it loads ``tests/conftest.py``).

* :func:`police_csv`, :func:`zip_bytes` — build input files for the loaders and the app;
* :func:`typed_error_on_purpose`, :func:`check_result` — the loader properties every fuzz test
  checks: an error is a typed :class:`hotspots.HotspotsError` raised on purpose (never the
  last-resort wrapper); a result adds up and holds finite, valid points in EPSG:27700;
* :data:`PAYLOADS` — text that would set ``window.__pwned`` if it reached a page unescaped;
* :func:`load_csv` — write a table to CSV and load it with a loader;
* :func:`run_cli`, :func:`refuse_loading` — run the command line in the test process; make any
  data loading fail the test (to prove that arguments are checked first).
"""

from __future__ import annotations

import contextlib
import csv
import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import event
from hypothesis.errors import InvalidArgument

from hotspots import HotspotsError
from hotspots.privacy import PERSON_REF_PATTERN, identifying_columns
from hotspots.schema import POLICE_UK_COLUMNS

# --------------------------------------------------------------------------------- input files
#: Text that would set ``window.__pwned`` if any reached the page unescaped.
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "javascript:window.__pwned=1",
    "back`tick`${window.__pwned=1}\\",
    "</script><script>window.__pwned=1</script>",
]


def police_csv(incidents: gpd.GeoDataFrame, *, bad_rows: int = 0, location: str = "On or near Test Street") -> bytes:
    """Incidents written as a police.uk street-level CSV (csv module), plus ``bad_rows`` rows
    without a location."""
    ll = incidents.to_crs(4326)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(POLICE_UK_COLUMNS)
    for month, lon, lat in zip(incidents["month"].dt.strftime("%Y-%m"), ll.geometry.x, ll.geometry.y):
        w.writerow(["", month, "Derbyshire Constabulary", "Derbyshire Constabulary", f"{lon:.6f}", f"{lat:.6f}", location,
                    "E01000001", "Derby 001A", "Anti-social behaviour", "", ""])
    for _ in range(bad_rows):
        w.writerow(["", "2023-05", "Derbyshire Constabulary", "Derbyshire Constabulary", "", "", "No location", "", "",
                    "Anti-social behaviour", "", ""])
    return buf.getvalue().encode("utf-8")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A deflated ZIP archive holding ``members`` (name -> content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


# ------------------------------------------------------------------------- loader properties
def typed_error_on_purpose(exc: BaseException) -> None:
    """``exc`` is a typed error raised on purpose, not the loaders' last-resort wrapper."""
    event(f"error: {type(exc).__name__}: {str(exc)[:70]}")
    assert isinstance(exc, HotspotsError), f"untyped {type(exc).__name__}: {exc}"
    assert exc.__cause__ is None, f"the last-resort wrapper fired: {exc.__cause__!r}"


def check_result(result, id_col: str) -> None:
    """A loader's ``(data, report)`` adds up: kept + dropped == read (overall and per file),
    ``rows_kept`` rows of finite, valid points in EPSG:27700 with unique ids; referrals hold no
    identifying column and only pseudonymised person refs."""
    data, report = result
    with contextlib.suppress(InvalidArgument):  # outside a Hypothesis test there is nothing to record
        event("result: " + ("empty" if len(data) == 0 else "rows kept"))
    assert report.rows_kept + report.rows_dropped == report.rows_read
    assert len(data) == report.rows_kept
    assert isinstance(data, gpd.GeoDataFrame) and data.crs is not None and data.crs.to_epsg() == 27700
    assert data[id_col].is_unique and data[id_col].notna().all()
    if len(data):
        g = np.asarray(data.geometry.values)
        assert (shapely.get_type_id(g) == 0).all() and shapely.is_valid(g).all()
        assert np.isfinite(shapely.get_coordinates(g)).all()
    for f in report.files:
        assert f.rows_kept + f.rows_dropped == f.rows_read
    if id_col == "referral_id":
        assert not identifying_columns(data.columns)
        assert data["person_ref"].dropna().str.match(PERSON_REF_PATTERN.pattern).all()


def load_csv(loader, frame, path):
    """Write ``frame`` to the CSV file ``path``, load it with ``loader`` and return the result."""
    frame.to_csv(path, index=False)
    return loader(path)


def run_cli(*args: object) -> tuple[int, str, str]:
    """``hotspots ARGS...`` in this process: (exit status, stdout, stderr)."""
    from hotspots.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def refuse_loading(monkeypatch) -> None:
    """Make every loader and the demo generator fail the test when called."""
    import hotspots.demo
    import hotspots.io

    def refuse(*args, **kwargs):
        raise AssertionError("data were loaded before the arguments were checked")

    for module, name in ((hotspots.io, "load_any"), (hotspots.io, "load_boundary"), (hotspots.demo, "generate_demo")):
        monkeypatch.setattr(module, name, refuse)


def near_derby(incidents: gpd.GeoDataFrame, *, km: float = 6.0, year: int = 2023) -> gpd.GeoDataFrame:
    """Incidents within ``km`` of Derby centre in ``year`` (a few thousand of the demo's)."""
    centre = shapely.Point(435_300, 336_300)
    in_year = (incidents["month"] >= f"{year}-01-01") & (incidents["month"] < f"{year + 1}-01-01")
    sel = (incidents.geometry.distance(centre) < km * 1000) & in_year
    return incidents[sel].reset_index(drop=True)


def points(xy, months=None, categories=None) -> gpd.GeoDataFrame:
    """Incidents at ``xy`` (BNG metres), with months (default January 2024) and categories."""
    xy = np.asarray(xy, dtype=float)
    data = {"month": pd.to_datetime(months if months is not None else ["2024-01-01"] * len(xy))}
    if categories is not None:
        data["category"] = categories
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)


def ring_boundary(outer=(0, 0, 10_000, 10_000), hole=(4_000, 4_000, 6_000, 6_000), name="ring.geojson") -> gpd.GeoDataFrame:
    """A 10 km square boundary in BNG with one square hole (2 km across by default)."""
    poly = shapely.Polygon(shapely.box(*outer).exterior.coords, [shapely.box(*hole).exterior.coords])
    g = gpd.GeoDataFrame({"name": ["ring"]}, geometry=[poly], crs=27700)
    g.attrs["source"] = name
    return g
