"""Data loaders: police.uk files, generic incident tables, referrals, task sites, boundaries.

Every loader returns canonical data in British National Grid (EPSG:27700) together with a
:class:`~hotspots.report.LoadReport` (rows read, kept, dropped by reason with example rows;
kept + dropped == read, always)::

    data, report = load_police_uk("data/derbyshire", categories="Anti-social behaviour")

Bad input raises a typed error from :mod:`hotspots._errors` (InputError, SchemaError, CRSError,
PrivacyError, ParameterError) whose message names the file/column/row and the fix, or becomes
a counted drop in the report. Every load stays within resource limits (rows, columns, unpacked
bytes, estimated memory, files, time; :mod:`hotspots.io.limits`): :data:`UPLOAD_LIMITS` for data
given as bytes (the app's uploads), :data:`BATCH_LIMITS` for files on disk; a load past a limit
raises :class:`~hotspots.LimitError` before the memory is spent.

Dates: ``month`` is always a first-of-month ``datetime64[ns]`` Timestamp (midnight);
``occurred`` is ``datetime64[ns]``, NaT when the source gives only a month.
"""

from __future__ import annotations

from ._read import SUPPORTED_FORMATS, Upload
from ._types import IncidentSet, ReferralSet, TaskSet
from .boundary import load_boundary
from .coords import DetectedCRS, detect_crs, to_bng
from .dispatch import load_any
from .dropped import dropped_share_text
from .limits import BATCH_LIMITS, UPLOAD_LIMITS, LoadLimits, load_limits
from .police_uk import POLICE_UK_REQUIRED, is_police_uk_header, load_police_uk
from .referrals import date_order_warning, load_referrals, unrecognised_outcomes_text
from .tables import load_incidents
from .tasks import load_tasks

__all__ = [
    "BATCH_LIMITS",
    "DetectedCRS",
    "IncidentSet",
    "LoadLimits",
    "POLICE_UK_REQUIRED",
    "ReferralSet",
    "SUPPORTED_FORMATS",
    "TaskSet",
    "UPLOAD_LIMITS",
    "Upload",
    "date_order_warning",
    "detect_crs",
    "dropped_share_text",
    "is_police_uk_header",
    "load_any",
    "load_boundary",
    "load_incidents",
    "load_limits",
    "load_police_uk",
    "load_referrals",
    "load_tasks",
    "to_bng",
    "unrecognised_outcomes_text",
]
