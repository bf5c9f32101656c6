"""hotspots: geospatial hotspot analysis of anti-social behaviour for immediate justice schemes.

The public names are exported explicitly below (see each module for details):

* data: :func:`load_police_uk`, :func:`load_incidents`, :func:`load_referrals`, :func:`load_tasks`,
  :func:`load_boundary`, :func:`load_any` (each returns data + :class:`LoadReport`);
  :func:`generate_demo` / :func:`write_demo` (synthetic Derbyshire data);
* engine: :class:`Grid`, :func:`count`, :func:`kde`, :func:`gi_star`, :func:`hotspot_areas`,
  :func:`clusters`, :func:`stability`;
* scheme: :func:`change_cells`, :func:`change_areas`, :func:`summarise_change` (and
  :func:`hotspots.change_summary.change_summary`), :func:`emerging_hotspots`, :func:`wdq`,
  :func:`ring_areas` / :func:`displacement_change` (the rings around the hotspot areas),
  :func:`hotspots.wdd.wdd`, :func:`e_test`,
  :func:`targeting_metrics`, :func:`link_referrals`, :func:`scheme_kpis`;
* people: :func:`publish_scheme` / :func:`scheme_publication` (every count of people an analysis
  publishes, protected together by :mod:`hotspots.disclosure`);
* everything at once: :func:`prepare_inputs` (study area, categories, periods) then
  :func:`analyse` with :class:`Settings` (:mod:`hotspots.pipeline`).

Maps (:mod:`hotspots.maps`) and exports (:mod:`hotspots.export`) are sub-packages imported on
their own, as they pull in folium and matplotlib.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import CRSError, HotspotsError, InputError, LimitError, ParameterError, PrivacyError, SchemaError
from ._lazy import lazy_exports

# Everything else is imported on first use (PEP 562), so that `import hotspots` and
# `hotspots --help` stay fast; the names are still explicit and listed in __all__.
_LAZY = {
    "Analysis": "analysis",
    "BNG": "grid",
    "ChangeResult": "change",
    "ChangeSummary": "change_summary",
    "WDDResult": "wdd",
    "summarise_change": "change_summary",
    "e_test": "count_tests",
    "ClusterResult": "clustering",
    "DemoData": "demo",
    "EmergingResult": "emerging",
    "GiStarResult": "gistar",
    "Grid": "grid",
    "GridValues": "grid",
    "HotspotAreas": "areas",
    "IncidentSet": "io",
    "KDEResult": "density",
    "KPITable": "kpis",
    "LinkageResult": "linkage",
    "LoadReport": "report",
    "Period": "periods",
    "PreparedInputs": "pipeline",
    "ReferralSet": "io",
    "SchemePublication": "publication",
    "Settings": "pipeline",
    "StabilityResult": "robustness",
    "TargetingResult": "targeting",
    "TaskSet": "io",
    "Upload": "io",
    "WDQResult": "displacement",
    "analyse": "pipeline",
    "auto_distance": "neighbours",
    "bh_adjust": "fdr",
    "change_areas": "change",
    "change_cells": "change",
    "clusters": "clustering",
    "count": "grid",
    "default_study_area": "gazetteer",
    "emerging_hotspots": "emerging",
    "fdr_threshold": "fdr",
    "generate_demo": "demo",
    "gi_star": "gistar",
    "hotspot_areas": "areas",
    "kde": "density",
    "link_referrals": "linkage",
    "load_any": "io",
    "load_boundary": "io",
    "load_incidents": "io",
    "load_police_uk": "io",
    "load_referrals": "io",
    "load_tasks": "io",
    "mann_kendall": "trend",
    "morans_i": "neighbours",
    "periods_around": "periods",
    "prepare_inputs": "pipeline",
    "publish_scheme": "publication",
    "scheme_kpis": "kpis",
    "scheme_publication": "publication",
    "stability": "robustness",
    "targeting_metrics": "targeting",
    "towns": "gazetteer",
    "wdq": "displacement",
    "wdq_areas": "displacement",
    "Displacement": "displacement_rings",
    "ring_areas": "displacement_rings",
    "displacement_change": "displacement_rings",
    "write_demo": "demo",
}


__getattr__, __dir__ = lazy_exports("hotspots", _LAZY, globals())
del lazy_exports

__all__ = [
    "__version__",
    "Analysis",
    "BNG",
    "CRSError",
    "ChangeResult",
    "ChangeSummary",
    "ClusterResult",
    "DemoData",
    "EmergingResult",
    "GiStarResult",
    "Grid",
    "GridValues",
    "HotspotAreas",
    "HotspotsError",
    "IncidentSet",
    "InputError",
    "KDEResult",
    "KPITable",
    "LimitError",
    "LinkageResult",
    "LoadReport",
    "ParameterError",
    "Period",
    "PreparedInputs",
    "PrivacyError",
    "ReferralSet",
    "SchemaError",
    "SchemePublication",
    "Settings",
    "StabilityResult",
    "TargetingResult",
    "TaskSet",
    "Upload",
    "WDDResult",
    "WDQResult",
    "analyse",
    "auto_distance",
    "bh_adjust",
    "change_areas",
    "change_cells",
    "e_test",
    "clusters",
    "count",
    "default_study_area",
    "emerging_hotspots",
    "fdr_threshold",
    "gi_star",
    "generate_demo",
    "hotspot_areas",
    "kde",
    "link_referrals",
    "load_any",
    "load_boundary",
    "load_incidents",
    "load_police_uk",
    "load_referrals",
    "load_tasks",
    "mann_kendall",
    "morans_i",
    "periods_around",
    "prepare_inputs",
    "publish_scheme",
    "scheme_kpis",
    "scheme_publication",
    "stability",
    "targeting_metrics",
    "towns",
    "summarise_change",
    "wdq",
    "wdq_areas",
    "Displacement",
    "ring_areas",
    "displacement_change",
    "write_demo",
]
