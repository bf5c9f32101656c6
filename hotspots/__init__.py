"""hotspots: geospatial hotspot analysis of anti-social behaviour for immediate justice schemes.

Public names are exported explicitly below; see each module for details.
"""

from __future__ import annotations

from ._errors import CRSError, HotspotsError, InputError, ParameterError, PrivacyError, SchemaError
from .grid import BNG, Grid, GridValues, count
from .report import LoadReport

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "BNG",
    "CRSError",
    "Grid",
    "GridValues",
    "HotspotsError",
    "InputError",
    "LoadReport",
    "ParameterError",
    "PrivacyError",
    "SchemaError",
    "count",
]
