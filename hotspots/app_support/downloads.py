"""Files the app offers for download: GeoJSON and CSV of tables, briefing images and GIS exports,
as bytes (made when the user clicks)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from .._errors import ParameterError
from ..analysis import Analysis
from ..change import finite_for_files
from ..csv_safety import csv_text
from ..export import one_type_columns

__all__ = [
    "geojson_bytes",
    "csv_bytes",
    "export_available",
    "briefing_png",
    "briefing_file",
    "BRIEFING_FORMATS",
    "gis_export_bytes",
    "bundle_inputs",
    "Download",
    "area_downloads",
    "export_downloads",
    "change_downloads",
    "scheme_downloads",
]


def geojson_bytes(gdf: gpd.GeoDataFrame, *, drop: Sequence[str] = ()) -> bytes:
    """GeoJSON (WGS84, RFC 7946) of a GeoDataFrame; ``drop`` columns are left out. Every field holds one type
    (:func:`hotspots.export.one_type_columns`: a count hidden as ``"<5"`` is null in ``<name>`` and ``"<5"`` in
    ``<name>_shown``), as in the GIS exports."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ParameterError(f"expected a GeoDataFrame; got {type(gdf).__name__}.")
    g = one_type_columns(gdf.drop(columns=[c for c in drop if c in gdf.columns]))
    if g.crs is not None:
        g = g.to_crs(4326)
    for c in g.columns:
        if c != g.geometry.name and g[c].dtype == object:
            g[c] = g[c].map(lambda v: None if v is None else (v if isinstance(v, (str, int, float, bool)) else str(v)))
    return g.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte-order mark, for spreadsheet programs) without the index or geometry:
    the machine-readable column names and numbers (the screen's labels and rounding,
    :func:`~hotspots.app_support.views.display_frame`, are for the screen only); a column mixing
    numbers and text (counts with ``"<5"``) as text."""
    out = pd.DataFrame(df.drop(columns=[c for c in df.columns if c == "geometry" or str(df[c].dtype) == "geometry"]))
    for c in out.columns:
        kinds = {type(v) for v in out[c].dropna().tolist()} if out[c].dtype == object else set()
        if len(kinds) > 1:
            out[c] = out[c].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return ("\ufeff" + csv_text(out)).encode("utf-8")  # formula-like text neutralised (:mod:`hotspots.csv_safety`)


def export_available() -> bool:
    """True when :mod:`hotspots.export` (briefing images, GIS files) is installed."""
    import importlib.util

    return importlib.util.find_spec("hotspots.export") is not None


#: The briefing formats the app offers (:func:`briefing_file`), as the command line's ``--out`` suffixes: MIME type of each.
BRIEFING_FORMATS = {"png": "image/png", "pdf": "application/pdf"}


def _check_format(fmt: str) -> None:
    if fmt not in BRIEFING_FORMATS:
        raise ParameterError(f"`fmt` must be one of {', '.join(map(repr, BRIEFING_FORMATS))}; got {fmt!r}.")


def briefing_file(
    analysis: Analysis,
    *,
    fmt: str = "png",
    layer: str = "density",
    before_after: bool = False,
    basemap: str = "none",
    dpi: float = 150,
) -> bytes:
    """A briefing map (:func:`hotspots.export.briefing_map` or ``briefing_before_after``) as the
    bytes of a PNG (``fmt="png"``) or PDF (``fmt="pdf"``) file, as the command line's ``--out
    briefing.png`` / ``.pdf`` writes it (the library picks the format from the suffix).

    ``basemap="none"`` draws no tiles (works offline); the app's other choices map to ``"osm"``.

    Raises
    ------
    ParameterError
        ``fmt`` is not one of :data:`BRIEFING_FORMATS`.
    """
    import tempfile

    from ..export import briefing_before_after, briefing_map

    _check_format(fmt)
    tiles = "none" if basemap == "none" else "osm"
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / f"briefing.{fmt}"
        if before_after:
            img = briefing_before_after(analysis, out, basemap=tiles, dpi=dpi)
        else:
            img = briefing_map(analysis, out, layer=layer, basemap=tiles, dpi=dpi)
        return Path(img.path).read_bytes()


def briefing_png(
    analysis: Analysis, *, layer: str = "density", before_after: bool = False, basemap: str = "none", dpi: float = 150
) -> bytes:
    """A briefing map as PNG bytes (:func:`briefing_file` with ``fmt="png"``)."""
    return briefing_file(analysis, fmt="png", layer=layer, before_after=before_after, basemap=basemap, dpi=dpi)


def bundle_inputs(reports: Any) -> dict[str, Any]:
    """The load reports of the data in use (``DataBundle.reports``), by kind, for ``parameters.json``'s
    ``inputs`` (as the command line records its files): a published result names what made it."""
    return {o.kind: o.report for o in reports or () if getattr(o, "report", None) is not None}


def gis_export_bytes(
    analysis: Analysis, *, fmt: str = "gpkg", snap_m: float = 250.0, inputs: Mapping[str, Any] | None = None
) -> bytes:
    """The analysis's layers as one GeoPackage (``fmt="gpkg"``), or a ZIP of GeoJSON files plus
    the ``parameters.json`` sidecar (``fmt="geojson"``), via :func:`hotspots.export.export_gis`;
    ``inputs`` (:func:`bundle_inputs`) are recorded in the sidecar, with ``load_warnings`` when most of a
    file's rows were dropped (the Data tab's warning, :func:`hotspots.app_support.load_report.dropped_warning`,
    as the command line records it; referrals judged at the export's own threshold).

    Person-level counts are suppressed by the export; files are reproducible (no timestamp).
    """
    import tempfile
    import zipfile

    from ..export import export_gis
    from .load_report import dropped_warning

    if fmt not in ("gpkg", "geojson"):
        raise ParameterError(f"`fmt` must be 'gpkg' or 'geojson'; got {fmt!r}.")
    warned = [w for kind, report in (inputs or {}).items() if (w := dropped_warning(kind, report))]
    with tempfile.TemporaryDirectory() as d:
        man = export_gis(analysis, d, formats=[fmt], snap_m=float(snap_m), timestamp=False, inputs=inputs,
                         extra={"load_warnings": warned} if warned else None)
        if fmt == "gpkg":
            return Path(man.gpkg).read_bytes()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in man.paths():
                z.write(path, arcname=Path(path).name)
        return buf.getvalue()


# =============================================================================== what the app offers
class Download(NamedTuple):
    """A download button: its label, a function making the file's bytes (called on click), the
    file name, the MIME type and the widget key."""

    label: str
    make: Callable[[], bytes]
    file_name: str
    mime: str
    key: str


GEOJSON, CSV = "application/geo+json", "text/csv"


def _density_tif(stage: Any) -> bytes:
    from ..export.raster import geotiff_bytes  # rasterio only when asked for

    return geotiff_bytes(stage, "density")


def area_downloads(table: Callable[[], gpd.GeoDataFrame], stage: Any,
                   csv_table: Callable[[], pd.DataFrame] | None = None) -> list[Download]:
    """Hotspot areas (GeoJSON, CSV), significant Gi* cells and the density grid (GeoJSON), and the
    density surface as a GeoTIFF on the maps' lattice (:func:`hotspots.export.raster.geotiff_bytes`);
    ``table`` makes the areas' table when one of its files is asked for; ``csv_table`` (default ``table``) the
    CSV's: the results folder's ``csv/hotspot_areas.csv`` in the app
    (:func:`hotspots.app_support.cached.area_csv`), the same file from either."""
    rows = csv_table or table
    return [
        Download("Hotspot areas (GeoJSON)", lambda: geojson_bytes(table()), "hotspot_areas.geojson", GEOJSON, "dl_areas"),
        Download("Hotspot areas (CSV)", lambda: csv_bytes(rows()), "hotspot_areas.csv", CSV, "dl_areas_csv"),
        Download(
            "Gi* cells (GeoJSON)",
            lambda: geojson_bytes(stage.gi.to_geodataframe(only_significant=True)),
            "gi_star_cells.geojson",
            GEOJSON,
            "dl_gi",
        ),
        Download(
            "Density grid (GeoJSON)",
            lambda: geojson_bytes(stage.density.to_geodataframe()),
            "density_cells.geojson",
            GEOJSON,
            "dl_density",
        ),
        Download("Density surface (GeoTIFF)", lambda: _density_tif(stage), "density.tif", "image/tiff", "dl_density_tif"),
    ]


def export_downloads(
    analysis: Callable[[], Analysis],
    *,
    layer: str,
    basemap: str,
    snap_m: float,
    before_after: bool = True,
    fmt: str = "png",
    inputs: Mapping[str, Any] | None = None,
) -> list[Download]:
    """The briefing map of ``layer`` and the before/after briefing (as ``fmt``, PNG or PDF:
    :func:`briefing_file`; the before/after one only with ``before_after``: not when the change is
    not computed, whose image would fail on click, :func:`~hotspots.app_support.views.before_after_withheld`),
    and every layer as a GeoPackage or a ZIP of GeoJSON; ``analysis`` makes the full analysis when a
    file is asked for; ``inputs`` (:func:`bundle_inputs`) go into the GIS files' ``parameters.json``."""
    _check_format(fmt)
    kind = fmt.upper()
    items = [
        Download(
            f"Briefing map ({kind})",
            lambda: briefing_file(analysis(), fmt=fmt, layer=layer, basemap=basemap),
            f"briefing_{layer}.{fmt}",
            BRIEFING_FORMATS[fmt],
            "dl_brief",
        ),
        Download(
            f"Before / after ({kind})",
            lambda: briefing_file(analysis(), fmt=fmt, before_after=True, basemap=basemap),
            f"briefing_before_after.{fmt}",
            BRIEFING_FORMATS[fmt],
            "dl_brief_ba",
        ),
        Download(
            "All layers (GeoPackage)",
            lambda: gis_export_bytes(analysis(), fmt="gpkg", snap_m=snap_m, inputs=inputs),
            "hotspots.gpkg",
            "application/geopackage+sqlite3",
            "dl_gpkg",
        ),
        Download(
            "All layers (GeoJSON zip)",
            lambda: gis_export_bytes(analysis(), fmt="geojson", snap_m=snap_m, inputs=inputs),
            "hotspots_geojson.zip",
            "application/zip",
            "dl_geojson_zip",
        ),
    ]
    return [d for d in items if before_after or d.key != "dl_brief_ba"]


def change_downloads(table: Callable[[], pd.DataFrame], cells: Any) -> list[Download]:
    """Change per hotspot (CSV: the table the Before/after tab shows, ``table`` made on click, with its
    machine-readable column names and numbers) and per cell (GeoJSON), numbers that are not finite written
    empty as in every export (:func:`hotspots.change.finite_for_files`)."""
    return [
        Download(
            "Change per hotspot (CSV)",
            lambda: csv_bytes(finite_for_files(table())),
            "change_per_hotspot.csv",
            CSV,
            "dl_change_areas",
        ),
        Download(
            "Change per cell (GeoJSON)",
            lambda: geojson_bytes(finite_for_files(cells.to_geodataframe())),
            "change_cells.geojson",
            GEOJSON,
            "dl_change_cells",
        ),
    ]


def scheme_downloads(publication: Any, by: str) -> list[Download]:
    """The published KPI breakdown by ``by``, the funnel and reparation by hotspot (CSV; the
    protected tables of :func:`hotspots.publication.publish_scheme` only)."""
    out = []
    if publication.kpis.get(by) is not None:
        out.append(Download("KPIs (CSV)", lambda: csv_bytes(publication.kpis[by]), f"kpis_by_{by}.csv", CSV, "dl_kpis"))
    funnel = publication.funnel.get(by, publication.funnel["all"])
    out.append(Download("Funnel (CSV)", lambda: csv_bytes(funnel), f"referral_funnel_by_{by}.csv", CSV, "dl_funnel"))
    if publication.referrals_by_hotspot is not None:
        out.append(Download("Reparation by hotspot (CSV)", lambda: csv_bytes(publication.referrals_by_hotspot),
                            "reparation_by_hotspot.csv", CSV, "dl_linkage"))
    return out
