"""Downloading public data from the data.police.uk API: street-level crimes and force boundaries.

:func:`fetch_police_uk` writes monthly files named as police.uk names them, so they load with
:func:`hotspots.io.load_police_uk`; :func:`fetch_force_boundary` writes a force's area (the
union of its neighbourhoods) as GeoJSON. Both write under ``data/`` by default
(:mod:`hotspots.datadir`). See :mod:`hotspots.fetch.police_uk` for how the API is used and how
failures are handled.
"""

from __future__ import annotations

from ._http import FetchError, HTTPStatusError, JsonClient, NotFound, RateLimiter, RetriesExhausted, RetryPolicy, TooManyResults
from .boundary import BoundaryResult, fetch_force_boundary
from .police_uk import (
    API_BASE,
    CATEGORY_LABELS,
    STATE_FILE,
    FetchSummary,
    MonthResult,
    crime_to_row,
    fetch_police_uk,
    month_range,
    neighbourhood_area,
    police_month_path,
)

__all__ = [
    "API_BASE",
    "BoundaryResult",
    "CATEGORY_LABELS",
    "FetchError",
    "FetchSummary",
    "HTTPStatusError",
    "JsonClient",
    "MonthResult",
    "NotFound",
    "RateLimiter",
    "RetriesExhausted",
    "RetryPolicy",
    "STATE_FILE",
    "TooManyResults",
    "crime_to_row",
    "fetch_force_boundary",
    "fetch_police_uk",
    "month_range",
    "neighbourhood_area",
    "police_month_path",
]
