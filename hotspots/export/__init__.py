"""Exports: briefing map images (PNG/PDF) and GIS files (GeoPackage, GeoJSON, CSV + JSON sidecar).

Everything here starts from an :class:`~hotspots.analysis.Analysis` (one call to
:func:`hotspots.analyse`), so images, files, the CLI and the app show the same numbers.
Person-level figures are only ever taken from the disclosure-controlled display tables.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# The names below are imported on first use (PEP 562): `hotspots national` imports
# `hotspots.export.national_outputs` and `hotspots.export.raster` without the briefing maps'
# matplotlib layout and layers (0.7 s).
_LAZY = {
    "DEMO_ATTRIBUTION": "_common",
    "DataSource": "_common",
    "area_summary": "_common",
    "column_periods": "_common",
    "data_source": "_common",
    "one_type_columns": "_common",
    "BriefingImage": "briefing",
    "MapPanel": "briefing",
    "briefing_before_after": "briefing",
    "briefing_map": "briefing",
    "ExportManifest": "gis",
    "csv_tables": "gis",
    "hotspot_areas_table": "gis",
    "export_gis": "gis",
    "gis_layers": "gis",
    "parameters_record": "gis",
}

__all__ = [
    "BriefingImage",
    "MapPanel",
    "briefing_map",
    "briefing_before_after",
    "ExportManifest",
    "export_gis",
    "gis_layers",
    "csv_tables",
    "hotspot_areas_table",
    "parameters_record",
    "area_summary",
    "column_periods",
    "data_source",
    "one_type_columns",
    "DataSource",
    "DEMO_ATTRIBUTION",
]


__getattr__, __dir__ = lazy_exports("hotspots.export", _LAZY, globals())
del lazy_exports
