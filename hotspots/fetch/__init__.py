"""Downloading public data: street-level crimes from the data.police.uk API.

:func:`fetch_police_uk` writes monthly files in police.uk's own download layout, so they load
with :func:`hotspots.io.load_police_uk`. See :mod:`hotspots.fetch.police_uk` for how the API is
used and how failures are handled.
"""

from __future__ import annotations

from ._http import FetchError, HTTPStatusError, JsonClient, NotFound, RateLimiter, RetriesExhausted, RetryPolicy, TooManyResults
from .police_uk import API_BASE, CATEGORY_LABELS, STATE_FILE, FetchSummary, MonthResult, crime_to_row, fetch_police_uk, month_range, police_month_path

__all__ = [
    "API_BASE",
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
    "fetch_police_uk",
    "month_range",
    "police_month_path",
]
