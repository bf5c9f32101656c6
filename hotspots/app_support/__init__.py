"""What the Streamlit app needs that is not Streamlit, tested without a browser.

The app (``app.py``) stays wiring and layout: widgets → :class:`hotspots.pipeline.Settings` →
cached library calls → maps, cards and tables. The analysis itself is :mod:`hotspots.pipeline`;
the figures shown beyond the methods' results are :mod:`hotspots.summaries`. Here:

* :mod:`~hotspots.app_support.uploads` — the demo data and uploaded files as a
  :class:`DataBundle` (prepared like the command line's inputs, with a content token);
* :mod:`~hotspots.app_support.views` — what the cards, tables and filters show;
* :mod:`~hotspots.app_support.text` — text from data made literal and private for the screen, and the
  library's notes and errors in the app's words (its controls by their labels);
* :mod:`~hotspots.app_support.downloads` — files offered for download, as bytes;
* :mod:`~hotspots.app_support.maplayers` — which layers each map shows;
* :mod:`~hotspots.app_support.drawn` — maps and layers drawn once (the map component's text), reused on reruns;
* :mod:`~hotspots.app_support.charts` — the charts (Altair);
* :mod:`~hotspots.app_support.cached` — the app's cached library calls, :mod:`~hotspots.app_support.widgets`
  — widgets it repeats (error box, downloads, cards, a chart or why it is empty) and the sidebar's analyst
  settings, and
  :mod:`~hotspots.app_support.mapview` — the map component (the three import Streamlit; ``app.py`` only).
"""

from __future__ import annotations

from . import charts, maplayers
from .downloads import (
    BRIEFING_FORMATS,
    Download,
    area_downloads,
    briefing_file,
    briefing_png,
    bundle_inputs,
    change_downloads,
    csv_bytes,
    export_available,
    export_downloads,
    geojson_bytes,
    gis_export_bytes,
    scheme_downloads,
)
from .text import CONTROL_LABELS, app_wording, md_text, note_text, person_text
from .uploads import MAX_UPLOAD_BYTES, DataBundle, LoadOutcome, content_token, demo_bundle, failed_upload_text, load_uploads
from .views import (
    BRIEFING_LAYERS,
    CHANGE_COLUMNS,
    COLUMN_LABELS,
    CRS_LABELS,
    Card,
    Metric,
    ReportView,
    SweepRequest,
    app_settings,
    before_after_withheld,
    briefing_layers,
    change_map_caption,
    change_metrics,
    change_rows,
    change_summary_table,
    column_label,
    display_frame,
    emerging_view,
    filter_referrals,
    funnel_bars,
    gi_class_counts,
    headline_metrics,
    hotspot_names,
    index_unavailable,
    jaccard_frame,
    kpi_cards,
    method_caption,
    no_areas_text,
    period_coverage_text,
    periods_help,
    periods_refused,
    report_metrics,
    report_rows,
    report_view,
    settings_used,
    short_title,
    stability_choices,
    stability_metrics,
    stability_rows,
    url_defaults,
    view_cards,
)

__all__ = [
    "BRIEFING_FORMATS",
    "BRIEFING_LAYERS",
    "CHANGE_COLUMNS",
    "COLUMN_LABELS",
    "CRS_LABELS",
    "MAX_UPLOAD_BYTES",
    "Download",
    "app_settings",
    "briefing_layers",
    "area_downloads",
    "bundle_inputs",
    "change_downloads",
    "charts",
    "emerging_view",
    "export_downloads",
    "maplayers",
    "Metric",
    "change_map_caption",
    "change_metrics",
    "change_rows",
    "change_summary_table",
    "headline_metrics",
    "method_caption",
    "no_areas_text",
    "period_coverage_text",
    "periods_help",
    "periods_refused",
    "scheme_downloads",
    "stability_choices",
    "stability_metrics",
    "stability_rows",
    "SweepRequest",
    "Card",
    "DataBundle",
    "LoadOutcome",
    "ReportView",
    "before_after_withheld",
    "briefing_file",
    "briefing_png",
    "content_token",
    "failed_upload_text",
    "csv_bytes",
    "demo_bundle",
    "display_frame",
    "column_label",
    "export_available",
    "filter_referrals",
    "funnel_bars",
    "geojson_bytes",
    "gi_class_counts",
    "gis_export_bytes",
    "jaccard_frame",
    "hotspot_names",
    "index_unavailable",
    "kpi_cards",
    "load_uploads",
    "md_text",
    "note_text",
    "app_wording",
    "CONTROL_LABELS",
    "person_text",
    "report_metrics",
    "report_rows",
    "report_view",
    "settings_used",
    "short_title",
    "url_defaults",
    "view_cards",
]
