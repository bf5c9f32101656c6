"""Exports: briefing map images (PNG/PDF) and GIS files (GeoPackage, GeoJSON, CSV + JSON sidecar).

Everything here starts from an :class:`~hotspots.analysis.Analysis` (one call to
:func:`hotspots.analyse`), so images, files, the CLI and the app show the same numbers.
Person-level figures are only ever taken from the disclosure-controlled display tables.
"""

from __future__ import annotations

from ._common import DEMO_ATTRIBUTION, DataSource, area_summary, data_source
from .briefing import BriefingImage, MapPanel, briefing_before_after, briefing_map
from .gis import ExportManifest, csv_tables, export_gis, gis_layers, parameters_record

__all__ = [
    "BriefingImage",
    "MapPanel",
    "briefing_map",
    "briefing_before_after",
    "ExportManifest",
    "export_gis",
    "gis_layers",
    "csv_tables",
    "parameters_record",
    "area_summary",
    "data_source",
    "DataSource",
    "DEMO_ATTRIBUTION",
]
