"""hotspots — the Streamlit app: the hotspot manager's map, before/after, the scheme's figures and
the analyst's settings.

Run with ``streamlit run app.py`` (``scripts/demo``). It opens on the built-in synthetic demo
data; the Data tab loads your own files instead. Everything shown comes from library calls
(:mod:`hotspots`); this file is widgets, cached calls and layout.

Caching: results computed from the demo data are cached for every user (``st.cache_resource``:
the same objects, not copies — they are never modified); results from uploaded files are kept
only in the user's own session (:class:`hotspots.app_support.LRUCache` in ``st.session_state``),
keyed by a hash of the files' content and the settings.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ASB hotspots", layout="wide", initial_sidebar_state="expanded")

import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any

import altair as alt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from streamlit_folium import st_folium  # noqa: E402

from hotspots._errors import HotspotsError  # noqa: E402
from hotspots.pipeline import Settings  # noqa: E402
from hotspots.change import incident_points  # noqa: E402
from hotspots.app_support import (  # noqa: E402
    DataBundle,
    LRUCache,
    area_change,
    assemble_analysis,
    briefing_png,
    cache_template_compilation,
    cell_change,
    change_key,
    cluster_key,
    copy_layer,
    csv_bytes,
    demo_bundle,
    display_frame,
    export_available,
    geojson_bytes,
    gis_export_bytes,
    hotspot_change_summary,
    hotspot_stage,
    jaccard_frame,
    view_cards,
    load_uploads,
    md_text,
    month_options,
    month_range,
    monthly_in_hotspots,
    period_density,
    person_text,
    report_view,
    stage_key,
    url_defaults,
)
from hotspots.change import incident_points  # noqa: E402
from hotspots.datadir import force_bundle, force_folders  # noqa: E402
from hotspots.maps import base_map, dual_map  # noqa: E402
from hotspots.maps import scheme_layers as sl  # noqa: E402
from hotspots.maps.base import CARTO_KEY_ENV  # noqa: E402
from hotspots.places import name_hotspot_areas  # noqa: E402
from hotspots.schema import AGE_GROUPS, OFFENCES, ROUTES, SCHEME_START  # noqa: E402

MAP_HEIGHT = 620
UPLOAD_TYPES = ["csv", "gz", "zip", "parquet", "pq", "gpkg", "geojson", "json"]


# =============================================================================== caching
# Each distinct folium template text is compiled once per process, not on every rerun (see
# hotspots.app_support.cache_template_compilation; the maps drawn are identical).
cache_template_compilation()


@st.cache_data(show_spinner=False, max_entries=2)
def _demo(seed: int) -> DataBundle:
    return demo_bundle(seed)


@st.cache_resource(show_spinner=False)
def _shared_results() -> LRUCache:
    """Results from the demo data, shared by every session (the same for everyone)."""
    return LRUCache(96)


def store_for(bundle: DataBundle) -> LRUCache:
    """Where results from ``bundle`` are kept: shared for the demo data, the session's own for uploads."""
    return _shared_results() if bundle.shared else st.session_state.setdefault("_results", LRUCache(24))


def cached(bundle: DataBundle, name: str, key: Any, compute: Callable[[], Any], store: LRUCache | None = None) -> Any:
    """Compute once per (data, name, key).

    ``key`` spells out every setting ``compute`` reads (see ``hotspots.app_support.*_key``).
    Pass ``store`` (from :func:`store_for`) when calling from outside the script thread
    (a download's deferred data), where the session state is not available.
    """
    store = store if store is not None else store_for(bundle)
    return store.get_or_compute((name, bundle.token, repr(key)), compute)


def layer(bundle: DataBundle, name: str, key: Any, build: Callable[[], Any]) -> Any:
    """A fresh copy of a map layer group built once per (data, name, key).

    The cached group is never drawn itself (streamlit-folium renames the elements of the groups
    it draws, so a drawn group cannot be drawn again): each rerun draws a copy
    (:func:`copy_layer`), which is much cheaper than building the layer again and gives the same
    script on every rerun, so each template text is compiled only once
    (:func:`cache_template_compilation`). ``key`` spells out everything ``build`` reads.
    """
    return copy_layer(cached(bundle, "layer " + name, key, build))


def incident_points_of(bundle: DataBundle, store: LRUCache | None = None) -> Any:
    """The incidents' coordinates and dates, read once per data set (for the change tests)."""
    return cached(bundle, "incident_points", (), lambda: incident_points(bundle.incidents), store=store)


def current_bundle() -> DataBundle:
    bundle = st.session_state.get("bundle")
    if bundle is None:
        bundle = _demo(0)
        st.session_state["bundle"] = bundle
    return bundle


def show_error(exc: BaseException) -> None:
    if isinstance(exc, HotspotsError):
        st.error(md_text(str(exc)))
    else:  # never a traceback on screen
        st.error(md_text(f"Unexpected problem ({type(exc).__name__}): {exc}"))


def download(label: str, make: Callable[[], bytes], file_name: str, mime: str, key: str) -> None:
    st.download_button(label, data=make, file_name=file_name, mime=mime, key=key, on_click="ignore")


# =============================================================================== sidebar
# Forces' police.uk files under data/police_uk/ (hotspots fetch), listed beside the demo data.
_folders = {f.id: f for f in force_folders()}
if _folders:
    with st.sidebar:
        _names = {"demo": "Synthetic demo data", **{k: f.describe() for k, f in _folders.items()}}
        _pick = st.selectbox("Data", list(_names), format_func=_names.get, key="data_choice",
                             help="Forces found under data/police_uk/ (see data/README.md), or the demo data.")
    if _pick != st.session_state.get("data_choice_loaded", "demo"):
        try:
            with st.spinner("Loading the force's files…"):
                st.session_state["bundle"] = _demo(0) if _pick == "demo" else force_bundle(_folders[_pick])
            st.session_state["data_choice_loaded"] = _pick
        except Exception as exc:  # an unreadable folder: an error box, the current data stay
            show_error(exc)
bundle = current_bundle()
try:
    first_month, last_month = cached(bundle, "month_range", (), lambda: month_range(bundle.incidents))
    months = month_options(first_month, last_month)
except HotspotsError as exc:  # uploads are checked for dates; this is a last line of defence
    show_error(exc)
    st.session_state.pop("bundle", None)
    st.stop()
# The default periods were chosen from the data when they were loaded (hotspots.pipeline.prepare_inputs).
default_before = bundle.defaults.before or (first_month, last_month)
default_after = bundle.defaults.after or (first_month, last_month)

# Starting values may come from the address (shareable views, benchmarks):
# ?period=2023-04:2024-03&before=2022-07:2023-06&after=2023-07:2024-06&cell=300
start = url_defaults(st.query_params.to_dict(), months, {"period": (months[0], months[-1]), "before": default_before, "after": default_after})

with st.sidebar:
    st.header("ASB hotspots")
    st.caption(md_text(bundle.label))
    basemaps = ["none", "osm"] + (["carto-light"] if os.environ.get(CARTO_KEY_ENV) else [])
    basemap = st.selectbox(
        "Basemap", basemaps, index=0, key="basemap",
        format_func={"none": "None (works offline)", "osm": "OpenStreetMap (needs internet)", "carto-light": "Carto light (needs internet)"}.get,
    )
    st.subheader("Periods")
    period = st.select_slider("Hotspot period", options=months, value=start["period"], key=f"period-{bundle.token[:16]}",
                              help="Months whose incidents define the hotspots.")
    before = st.select_slider("Before period", options=months, value=start["before"], key=f"before-{bundle.token[:16]}")
    after = st.select_slider("After period", options=months, value=start["after"], key=f"after-{bundle.token[:16]}",
                             help=f"Default: chosen from the data's months and the scheme start ({bundle.defaults.scheme_start}); see the Analyst tab's notes.")
    same_months = st.checkbox("Compare the same calendar months only", value=False, key="same_months")

    with st.expander("Analyst settings", expanded=False):
        auto_cell = st.checkbox("Automatic cell size", value="cell" not in st.query_params, key="auto_cell",
                                help="The same automatic choice as the command line (announced in the Analyst tab).")
        cell_size = st.number_input("Cell size (m)", min_value=50, max_value=5000, value=start["cell"], step=50, key="cell_size", disabled=auto_cell)
        auto_bw = st.checkbox("Automatic bandwidth", value=True, key="auto_bw")
        bandwidth = st.number_input("Bandwidth (m)", min_value=50, max_value=20000, value=1000, step=50, key="bandwidth", disabled=auto_bw)
        bandwidth_rule = st.selectbox("Bandwidth rule", ["arcgis", "sfhotspot"], key="bandwidth_rule", disabled=not auto_bw)
        kernel = st.selectbox("Kernel", ["quartic", "gaussian", "epanechnikov"], key="kernel")
        auto_dist = st.checkbox("Automatic distance band", value=True, key="auto_dist",
                                help="Incremental spatial autocorrelation (ArcGIS Optimized Hot Spot Analysis's rule).")
        distance = st.number_input("Distance band (m)", min_value=50, max_value=20000, value=750, step=50, key="distance", disabled=auto_dist)
        alpha = st.select_slider("Significance level (alpha)", options=[0.01, 0.05, 0.10], value=0.05, key="alpha")
        fdr = st.checkbox("False discovery rate control (Benjamini–Hochberg)", value=True, key="fdr")
        permutations = st.selectbox("Permutations (0 = analytic p-values)", [0, 99, 199, 499, 999], key="permutations")
        seed = st.number_input("Random seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed")
        min_confidence = st.select_slider("Minimum Gi* confidence for hotspot areas", options=[0.90, 0.95, 0.99], value=0.90,
                                          key="min_confidence", format_func=lambda v: f"{v:.0%}")
        cluster_method = st.selectbox("Point clusters", ["dbscan", "hdbscan", "none"], key="cluster_method")
        eps = st.number_input("DBSCAN radius eps (m)", min_value=10, max_value=5000, value=150, step=10, key="eps")
        min_samples = st.number_input("Core size (min samples)", min_value=2, max_value=1000, value=20, step=1, key="min_samples")
        near_m = st.number_input("Local reparation within (m)", min_value=100, max_value=20000, value=2000, step=100, key="near_m")
        snap_m = st.select_slider("Referral squares (m)", options=[100, 250, 500, 1000], value=250, key="snap_m",
                                  help="Referral locations are only ever shown snapped to squares of this size.")

settings = Settings(
    cell_size=None if auto_cell else float(cell_size),
    bandwidth=None if auto_bw else float(bandwidth),
    kernel=kernel,
    bandwidth_rule=bandwidth_rule,
    distance=None if auto_dist else float(distance),
    alpha=float(alpha),
    fdr=bool(fdr),
    permutations=int(permutations),
    seed=int(seed),
    min_confidence=float(min_confidence),
    cluster_method=cluster_method,
    eps=float(eps),
    min_samples=int(min_samples),
    period=None if tuple(period) == (months[0], months[-1]) else tuple(period),
    before=tuple(before),
    after=tuple(after),
    same_months=bool(same_months),
    near_m=float(near_m),
)

# =============================================================================== analysis
_force = bundle.prepared.force
st.title("Anti-social behaviour hotspots" + (f" — {_force.name}" if _force is not None else ""))
progress_slot = st.empty()


def _stage():
    bar = progress_slot.progress(0.0, text="Finding hotspots…")
    try:
        return hotspot_stage(bundle.incidents, settings, bundle.study_area, progress=lambda t, f: bar.progress(min(max(f, 0.0), 1.0), text=f"Finding hotspots: {t}…"))
    finally:
        progress_slot.empty()


try:
    stage = cached(bundle, "stage", stage_key(settings), _stage)
    changes, change_note = cached(bundle, "area_change", (stage_key(settings), change_key(settings)),
                                  lambda: area_change(incident_points_of(bundle), stage, settings))
    linkage = None
    if bundle.referrals is not None:
        from hotspots.linkage import link_referrals

        with st.spinner("Linking referrals to hotspots and task sites…"):
            linkage = cached(bundle, "linkage", (stage_key(settings), settings.near_m),
                             lambda: link_referrals(bundle.referrals, areas=stage.areas.areas, tasks=bundle.tasks, near_m=settings.near_m))
    # Disclosure control: every person-level figure the app shows (cards, tables, map symbols,
    # popups) comes from one protected publication (hotspots.publication), the same as the exports.
    publication = None
    if linkage is not None:
        from hotspots.publication import publish_scheme

        with st.spinner("Protecting the scheme's figures…"):
            publication = cached(bundle, "publication", (stage_key(settings), settings.near_m, snap_m, settings.threshold),
                                 lambda: publish_scheme(bundle.referrals, linkage=linkage, areas=stage.areas.areas,
                                                        threshold=settings.threshold, snap_m=float(snap_m)))
except Exception as exc:  # bad settings or data: an error box, never a traceback
    show_error(exc)
    st.stop()

area_table = cached(bundle, "area_table", (stage_key(settings), change_key(settings), settings.near_m, snap_m),
                    lambda: sl.hotspot_area_table(stage.areas, change=changes, publication=publication,
                                                  places=name_hotspot_areas(stage.areas.areas, stage.incidents,
                                                                            bundle.study_area)))
summary = hotspot_change_summary(changes)

cols = st.columns(6)
cols[0].metric("Incidents analysed", f"{len(stage.incidents):,}")
cols[1].metric("Hotspot areas", f"{stage.areas.n_areas:,}")
cols[2].metric("Incidents in hotspots", f"{stage.hot_share:.1%}")
cols[3].metric("Hotspot area", f"{float(stage.areas.areas['area_km2'].sum()) if stage.areas.n_areas else 0.0:,.0f} km²")
cols[4].metric("Cell size", f"{stage.grid.cell_size:,.0f} m")
if summary is not None:
    cols[5].metric("Change in hotspots", f"{summary['change_pct']:+.1f} %",
                   help=f"Incident rate in all hotspot areas, {int(summary['before']):,} before → {int(summary['after']):,} after.")
else:
    cols[5].metric("Change in hotspots", "–", help=md_text(change_note or "No hotspot areas."))

view_map, view_change, view_scheme, view_analyst, view_data = st.tabs(
    ["Map", "Before / after", "Scheme", "Analyst", "Data"], key="view", on_change="rerun"
)


def study_kwargs() -> dict[str, Any]:
    if bundle.study_area is not None:
        return {"study_area": bundle.study_area}
    return {"bounds_27700": stage.grid.bounds}


def new_base_map(height: int = MAP_HEIGHT):
    """A fresh copy of the base map (built once per basemap, height and study area; see :func:`layer`)."""

    def build():
        m = base_map(basemap=basemap, height=height, **study_kwargs())
        sl.layer_support(m)
        return m

    key = (basemap, height, None if bundle.study_area is not None else stage.grid.bounds)
    return copy_layer(cached(bundle, "base map", key, build))


# =============================================================================== map
def clusters_result():
    from hotspots.periods import filter_period, parse_period
    from hotspots.clustering import clusters

    if settings.cluster_method == "none":
        return None

    def run():
        pts = filter_period(bundle.incidents, parse_period(settings.period) if settings.period else None)
        return clusters(pts, settings.cluster_method, eps=settings.eps, min_samples=settings.min_samples, seed=settings.seed)

    with st.spinner("Clustering incidents…"):
        return cached(bundle, "clusters", cluster_key(settings), run)


if view_map.open:
    with view_map:
        try:
            groups = [
                layer(bundle, "density", stage_key(settings), lambda: sl.density_layer(stage.density)),
                layer(bundle, "gi", stage_key(settings), lambda: sl.gi_class_layer(
                    cached(bundle, "gi_table", stage_key(settings), lambda: sl.gi_class_table(stage.gi)))),
                layer(bundle, "areas", (stage_key(settings), change_key(settings), settings.near_m, snap_m), lambda: sl.hotspot_areas_layer(area_table)),
            ]
            if settings.cluster_method != "none" and st.toggle(
                f"Add {settings.cluster_method.upper()} point clusters to the map", value=False, key="show_clusters",
            ):
                found = clusters_result()
                if found is not None:
                    groups.append(layer(bundle, "clusters", cluster_key(settings), lambda: sl.clusters_layer(found, show=True)))
            # Person-level layers are built only when switched on here: a layer switched off in the
            # map's own control would still send its (protected) counts to the browser.
            pub_key = (stage_key(settings), settings.near_m, snap_m, settings.threshold)
            if publication is not None and publication.origins is not None and st.toggle(
                "Show where referrals come from (squares)", value=False, key="show_origins",
            ):
                groups.append(layer(bundle, "origins", pub_key, lambda: sl.referral_origins_layer(publication)))
            if bundle.tasks is not None:
                groups.append(layer(bundle, "tasks", (), lambda: sl.task_sites_layer(bundle.tasks)))
            if publication is not None and publication.flows is not None and st.toggle(
                "Show referral → task flows", value=False, key="show_flows",
            ):
                groups.append(layer(bundle, "lines", pub_key, lambda: sl.referral_task_lines_layer(publication)))
            m = new_base_map()
            st_folium(m, feature_group_to_add=groups, layer_control=sl.scheme_layer_control(), returned_objects=[],
                      height=MAP_HEIGHT, use_container_width=True, key="main_map")
        except Exception as exc:
            show_error(exc)
        st.caption(md_text(f"{stage.density.kernel} KDE, bandwidth {stage.density.bandwidth_m:,.0f} m; Gi* distance "
                           f"{stage.gi.params.get('distance_m', float('nan')):,.0f} m, alpha {settings.alpha:g}"
                           f"{' with FDR' if settings.fdr else ''}; {stage.grid.cell_size:g} m cells. "
                           "Referral locations are shown only as counts per square, protected with every other figure "
                           "(1–4 as <5, c, x)."))
        st.subheader("Hotspot areas")
        if stage.areas.n_areas == 0:
            st.info("No hotspot areas at these settings: try a larger cell size, a longer distance band or a lower confidence.")
        else:
            area_shown = cached(bundle, "area_table_shown", (stage_key(settings), change_key(settings), settings.near_m, snap_m),
                                lambda: display_frame(area_table))
            st.dataframe(area_shown, hide_index=True, key="area_table",
                         column_config={k: v for k, v in sl.AREA_LABELS.items() if k in area_table.columns})
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            download("Hotspot areas (GeoJSON)", lambda: geojson_bytes(area_table), "hotspot_areas.geojson", "application/geo+json", "dl_areas")
        with c2:
            download("Hotspot areas (CSV)", lambda: csv_bytes(area_table), "hotspot_areas.csv", "text/csv", "dl_areas_csv")
        with c3:
            download("Gi* cells (GeoJSON)", lambda: geojson_bytes(stage.gi.to_geodataframe(only_significant=True)), "gi_star_cells.geojson",
                     "application/geo+json", "dl_gi")
        with c4:
            download("Density grid (GeoJSON)", lambda: geojson_bytes(stage.density.to_geodataframe()), "density_cells.geojson",
                     "application/geo+json", "dl_density")
        if export_available():
            st.subheader("Briefing map and GIS files")
            st.caption("A slide-ready map (title, legend, scale bar, north arrow, attribution; small numbers suppressed) "
                       "and every layer for QGIS/ArcGIS. Made when you click (a few seconds).")
            store = store_for(bundle)
            threshold_kpis = settings.threshold

            def full_analysis():
                def build():
                    cells, note = cached(bundle, "cell_change", (stage_key(settings), change_key(settings)),
                                         lambda: cell_change(incident_points_of(bundle, store), stage.grid, settings), store=store)
                    kpis = None
                    if bundle.referrals is not None:
                        from hotspots.kpis import scheme_kpis

                        kpis = scheme_kpis(bundle.referrals, threshold=threshold_kpis)
                    an = assemble_analysis(stage, change_cells=cells, change_areas=changes, change_note=note or change_note,
                                           linkage=linkage, kpis=kpis, referrals=bundle.referrals, tasks=bundle.tasks,
                                           study_area=bundle.study_area)
                    if an.referrals is not None:
                        from hotspots.publication import scheme_publication

                        scheme_publication(an, snap_m=float(snap_m))  # the briefing uses the squares the GIS files use
                    return an

                return cached(bundle, "analysis", (stage_key(settings), change_key(settings), settings.near_m, snap_m), build, store=store)

            layers = ["density", "gistar", "areas", "change"] + (["scheme"] if linkage is not None else [])
            names = {"density": "Density", "gistar": "Gi* classes", "areas": "Hotspot areas", "change": "Change", "scheme": "Scheme"}
            e0, e1, e2, e3, e4 = st.columns([1.2, 1, 1, 1, 1])
            brief_layer = e0.selectbox("Briefing map shows", layers, format_func=names.get, key="brief_layer")
            tiles = basemap
            with e1:
                download("Briefing map (PNG)", lambda: briefing_png(full_analysis(), layer=brief_layer, basemap=tiles),
                         f"briefing_{brief_layer}.png", "image/png", "dl_brief")
            with e2:
                download("Before / after (PNG)", lambda: briefing_png(full_analysis(), before_after=True, basemap=tiles),
                         "briefing_before_after.png", "image/png", "dl_brief_ba")
            with e3:
                download("All layers (GeoPackage)", lambda: gis_export_bytes(full_analysis(), fmt="gpkg", snap_m=float(snap_m)),
                         "hotspots.gpkg", "application/geopackage+sqlite3", "dl_gpkg")
            with e4:
                download("All layers (GeoJSON zip)", lambda: gis_export_bytes(full_analysis(), fmt="geojson", snap_m=float(snap_m)),
                         "hotspots_geojson.zip", "application/zip", "dl_geojson_zip")


# =============================================================================== before / after
if view_change.open:
    with view_change:
        b_period, a_period = settings.change_periods() if settings.before else (None, None)
        try:
            cells, cell_note = cached(bundle, "cell_change", (stage_key(settings), change_key(settings)),
                                      lambda: cell_change(incident_points_of(bundle), stage.grid, settings))
        except Exception as exc:
            show_error(exc)
            cells, cell_note = None, None
        if cells is None:
            st.warning(md_text(cell_note or change_note or "Before/after change could not be computed."))
        else:
            summ = cells.summary()
            c = st.columns(5)
            c[0].metric("Before", f"{int(cells.table['n_before'].sum()):,}", help=md_text(cells.before.describe()))
            c[1].metric("After", f"{int(cells.table['n_after'].sum()):,}", help=md_text(cells.after.describe()))
            if summary is not None:
                c[2].metric("Change in hotspots", f"{summary['change_pct']:+.1f} %")
            c[3].metric("Cells with a significant fall", f"{int(summ.get('significant fall', 0)):,}")
            c[4].metric("Cells with a significant rise", f"{int(summ.get('significant rise', 0)):,}")
            st.caption(md_text(cells.describe()))
            try:
                dens = cached(bundle, "period_density", (stage_key(settings), change_key(settings)), lambda: (
                    period_density(bundle.incidents, stage.grid, cells.before, bandwidth=stage.density.bandwidth_m, kernel=stage.density.kernel),
                    period_density(bundle.incidents, stage.grid, cells.after, bandwidth=stage.density.bandwidth_m, kernel=stage.density.kernel),
                ))
                top = max(float(np.nanpercentile(d.values[np.isfinite(d.values) & (d.values > 0)], 99)) if np.any(np.nan_to_num(d.values) > 0) else 0.0
                          for d in dens) or 1.0
                st.markdown("**Density per month, before (left) and after (right)** — same colours on both maps; pan one and the other follows.")
                dual = dual_map(basemap=basemap, **study_kwargs())
                for side, d, title in ((dual.m1, dens[0], "Before"), (dual.m2, dens[1], "After")):
                    period_text = d.name.split(": ", 1)[-1]
                    sl.density_layer(d, name=f"{title} density ({period_text})", vmin=0.0, vmax=top,
                                     legend_title=f"{title}, {period_text}").add_to(side)
                    sl.hotspot_areas_layer(area_table, colour_by="change" if "change_class" in area_table.columns else "none").add_to(side)
                    sl.scheme_layer_control(side)
                st_folium(dual, returned_objects=[], height=480, use_container_width=True, key="dual_map")
                st.markdown("**Change map** — cells whose rate changed significantly, hotspot areas coloured by their change.")
                cm = new_base_map(height=520)
                cgroups = [sl.change_cells_layer(cells)]
                if stage.areas.n_areas:
                    cgroups.append(sl.hotspot_areas_layer(area_table, colour_by="change" if "change_class" in area_table.columns else "none"))
                st_folium(cm, feature_group_to_add=cgroups, layer_control=sl.scheme_layer_control(), returned_objects=[],
                          height=520, use_container_width=True, key="change_map")
            except Exception as exc:
                show_error(exc)
            st.subheader("Change per hotspot")
            if changes is not None:
                cols_shown = [c for c in ("area_id", "incidents", "before", "after", "change_pct", "change_class") if c in area_table.columns]
                st.dataframe(display_frame(area_table[cols_shown]), hide_index=True, key="change_table",
                             column_config={k: sl.AREA_LABELS[k] for k in cols_shown})
                d1, d2 = st.columns(2)
                with d1:
                    download("Change per hotspot (CSV)", lambda: csv_bytes(changes.table), "change_per_hotspot.csv", "text/csv", "dl_change_areas")
                with d2:
                    download("Change per cell (GeoJSON)", lambda: geojson_bytes(cells.to_geodataframe()), "change_cells.geojson",
                             "application/geo+json", "dl_change_cells")
            else:
                st.info(md_text(change_note or "No hotspot areas to compare."))


# =============================================================================== scheme
def chart_monthly(df: pd.DataFrame, as_index: bool) -> alt.Chart:
    long = df.melt("month", value_vars=["in_hotspots", "elsewhere"], var_name="where", value_name="incidents")
    long["where"] = long["where"].map({"in_hotspots": "in hotspots", "elsewhere": "elsewhere"})
    y_title = "incidents per month"
    if as_index:
        base = df[df["month"] < pd.Timestamp(SCHEME_START)][["in_hotspots", "elsewhere"]].mean()
        for w, col in (("in hotspots", "in_hotspots"), ("elsewhere", "elsewhere")):
            sel = long["where"] == w
            long.loc[sel, "incidents"] = 100.0 * long.loc[sel, "incidents"] / base[col] if base[col] > 0 else np.nan
        y_title = "index (mean before the scheme = 100)"
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("month:T", title="month"), y=alt.Y("incidents:Q", title=y_title),
        color=alt.Color("where:N", title=None, scale=alt.Scale(domain=["in hotspots", "elsewhere"], range=["#d62f27", "#4575b5"])),
        tooltip=[alt.Tooltip("month:T", format="%b %Y"), "where:N", alt.Tooltip("incidents:Q", format=",.0f")],
    )
    start = pd.DataFrame({"month": [pd.Timestamp(SCHEME_START)], "label": ["scheme start"]})
    rule = alt.Chart(start).mark_rule(strokeDash=[4, 3], color="#333").encode(x="month:T")
    text = alt.Chart(start).mark_text(align="left", baseline="top", dx=4, color="#333").encode(x="month:T", y=alt.value(2), text="label:N")
    return (lines + rule + text).properties(height=300)


if view_scheme.open:
    with view_scheme:
        st.subheader("ASB in hotspots and elsewhere, per month")
        monthly = cached(bundle, "monthly", stage_key(settings), lambda: monthly_in_hotspots(bundle.incidents, stage.areas))
        as_index = st.toggle("Show as an index (mean of the months before the scheme = 100)", value=False, key="monthly_index")
        if len(monthly):
            st.altair_chart(chart_monthly(monthly, as_index), width="stretch")
        if bundle.referrals is None or linkage is None:
            st.info("No referral data: load a referrals file in the Data tab to see the scheme's figures.")
        else:
            st.subheader("Scheme figures")
            f = st.columns(4)
            offences = f[0].multiselect("Offence", [o for o in OFFENCES if o in set(linkage.table["offence"].dropna())], key="f_offence")
            routes = f[1].multiselect("Route", [r for r in ROUTES if r in set(linkage.table["route"].dropna())], key="f_route")
            ages = f[2].multiselect("Age group", [a for a in AGE_GROUPS if a in set(linkage.table["age_group"].dropna())], key="f_age")
            hotspot_opts = ["all", "in hotspots", "outside hotspots"] + [str(i) for i in stage.areas.areas["area_id"].tolist()]
            hotspot = f[3].selectbox("Hotspot", hotspot_opts, key="f_hotspot",
                                     format_func=lambda v: v if not v.isdigit() else f"hotspot {v}")
            try:
                # A filtered view shows only figures the published tables already determine, so
                # no two views (or a view and the tables) can be subtracted to single anyone out.
                view = publication.filtered(offence=offences, route=routes, age_group=ages, hotspot=hotspot)
                cards = view_cards(view, publication.window)
                cc = st.columns(len(cards))
                for col, card in zip(cc, cards):
                    col.metric(card.label, card.value, help=md_text(card.help))
                st.caption(md_text(publication.statement + (" " + view["note"] if view["note"] else "")))
                g1, g2 = st.columns([1, 1])
                with g1:
                    st.markdown("**Referral funnel**")
                    stages = ["referred", "contacted", "booked", "completed"]
                    fig = view["figures"]
                    fdf = pd.DataFrame({"stage": stages, "shown": [str(fig[s if s != "referred" else "referrals"]) for s in stages]})
                    fdf["referrals"] = pd.to_numeric(fdf["shown"].str.replace(",", ""), errors="coerce")
                    bars = alt.Chart(fdf.dropna(subset=["referrals"])).mark_bar(color="#6a3d9a").encode(
                        y=alt.Y("stage:N", sort=stages, title=None), x=alt.X("referrals:Q", title="referrals"),
                        tooltip=["stage:N", "shown:N"],
                    )
                    st.altair_chart(bars.properties(height=180), width="stretch")
                    st.dataframe(display_frame(fdf[["stage", "shown"]]), hide_index=True, key="funnel_table")
                with g2:
                    st.markdown("**Where reparation happens** (all referrals)")
                    st.dataframe(display_frame(publication.referrals_summary), hide_index=True, key="linkage_table")
                    st.caption(md_text(f"Local: task site within {settings.near_m:,.0f} m of the harm or in the same town. "
                                       "Per hotspot: see the map's hotspot popups and the Reparation by hotspot download."))
                by = st.selectbox("Break the figures down by", ["offence", "route", "age_group", "hotspot", "month"], key="kpi_by")
                kb = publication.kpis.get(by)
                if kb is None:
                    st.info(md_text(f"No `{by}` in the referral data."))
                else:
                    st.caption("The published table for all referrals (the filters above do not apply to it).")
                    st.dataframe(display_frame(kb), hide_index=True, key="kpi_table")
                st.caption(md_text(publication.window))
                for note in publication.data_notes:
                    st.caption(md_text(person_text(note, settings.threshold)))
                d1, d2, d3 = st.columns(3)
                with d1:
                    if kb is not None:
                        download("KPIs (CSV)", lambda: csv_bytes(kb), f"kpis_by_{by}.csv", "text/csv", "dl_kpis")
                with d2:
                    download("Funnel (CSV)", lambda: csv_bytes(publication.funnel.get(by, publication.funnel["all"])),
                             f"referral_funnel_by_{by}.csv", "text/csv", "dl_funnel")
                with d3:
                    download("Reparation by hotspot (CSV)", lambda: csv_bytes(publication.referrals_by_hotspot), "reparation_by_hotspot.csv",
                             "text/csv", "dl_linkage")
            except Exception as exc:
                show_error(exc)


# =============================================================================== analyst
if view_analyst.open:
    with view_analyst:
        st.subheader("Automatic choices and notes")
        for note in stage.notes + ((change_note,) if change_note else ()):
            st.markdown("- " + md_text(note))
        g = stage.gi
        a1, a2 = st.columns(2)
        with a1:
            st.markdown("**Gi\\* cells per class**")
            classes, counts = np.unique(g.classes[stage.grid.active], return_counts=True)
            st.dataframe(pd.DataFrame({"class": classes, "cells": counts}), hide_index=True, key="gi_classes")
        with a2:
            st.markdown("**Settings used**")
            used = {
                "cell size (m)": stage.grid.cell_size, "bandwidth (m)": round(float(stage.density.bandwidth_m), 1),
                "kernel": stage.density.kernel, "distance band (m)": g.params.get("distance_m"),
                "distance rule": g.params.get("distance_rule"), "alpha": settings.alpha, "FDR": settings.fdr,
                "permutations": settings.permutations, "cells in study area": stage.grid.n_cells,
            }
            st.dataframe(pd.DataFrame({"setting": list(used), "value": [str(v) for v in used.values()]}), hide_index=True, key="used")
        found = None
        try:
            found = clusters_result()
        except Exception as exc:
            show_error(exc)
        if found is not None:
            st.markdown(f"**Point clusters ({settings.cluster_method.upper()})**: {found.n_clusters:,} clusters")
            if found.n_clusters:
                st.dataframe(display_frame(found.polygons), hide_index=True, key="clusters_table")

        st.subheader("Stability of the hotspots")
        st.caption("Runs Gi* for every combination of cell size and distance band (as multiples of the cell size) and "
                   "compares their hot cells: Jaccard overlap 1 = identical, 0 = no overlap.")
        s1, s2 = st.columns(2)
        sizes = s1.multiselect("Cell sizes (m)", [100, 150, 200, 250, 300, 400, 500, 750, 1000], default=[200, 250, 300], key="stab_sizes")
        mults = s2.multiselect("Distance bands (× cell size)", [1.5, 2.0, 3.0, 4.0], default=[2.0, 3.0], key="stab_mults")
        if st.button("Run the stability sweep", key="stab_run"):
            st.session_state["stab_request"] = (tuple(sorted(sizes)), tuple(sorted(mults)))
        req = st.session_state.get("stab_request")
        if req and req[0] and req[1]:
            from hotspots.robustness import stability

            def sweep():
                from hotspots.periods import filter_period, parse_period

                pts = filter_period(bundle.incidents, parse_period(settings.period) if settings.period else None)
                return stability(pts, cell_sizes=list(req[0]), distance_multipliers=list(req[1]), mask=bundle.study_area,
                                 alpha=settings.alpha, fdr=settings.fdr, seed=settings.seed)

            try:
                with st.spinner(f"Running {len(req[0]) * len(req[1])} analyses…"):
                    res = cached(bundle, "stability", (req, settings.period, settings.alpha, settings.fdr, settings.seed), sweep)
                m1, m2 = st.columns(2)
                m1.metric("Mean Jaccard overlap", f"{res.mean_jaccard:.2f}")
                m2.metric("Cells hot in ≥ 80 % of runs", f"{int(res.robust_cells(0.8).sum()):,}")
                st.dataframe(display_frame(res.table), hide_index=True, key="stab_table")
                jf = jaccard_frame(res)
                long = jf.reset_index(names="run a").melt("run a", var_name="run b", value_name="jaccard")
                heat = alt.Chart(long).mark_rect().encode(
                    x=alt.X("run b:N", sort=list(jf.columns)), y=alt.Y("run a:N", sort=list(jf.index)),
                    color=alt.Color("jaccard:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis")), tooltip=["run a", "run b", "jaccard"],
                )
                st.altair_chart(heat.properties(height=300), width="stretch")
                st.markdown("**Robustness surface**: share of runs in which each cell is hot.")
                sm = new_base_map(height=450)
                st_folium(sm, feature_group_to_add=[sl.density_layer(res.hot_share, name="Share of runs hot", cmap="viridis", vmin=0.0, vmax=1.0,
                                                                     units="share of runs")],
                          layer_control=sl.scheme_layer_control(), returned_objects=[], height=450, use_container_width=True, key="stab_map")
            except Exception as exc:
                show_error(exc)



# =============================================================================== data
def show_outcome(o) -> None:
    title = f"{o.kind}: " + ", ".join(o.files)
    if not o.ok:
        st.error(md_text(f"{title} — {o.error}"))
        if o.report is None:
            return
    r = o.report
    with st.container(border=True):
        st.markdown(f"**{md_text(title)}**")
        if r is None:
            st.markdown(f"{o.rows:,} rows")
            return
        # Referral files hold one row per person: their counts of 1-4 are suppressed too.
        v = report_view(r, person=o.kind == "referrals", threshold=settings.threshold)
        c = st.columns(3)
        c[0].metric("Rows read", v.rows_read, help=v.help or None)
        c[1].metric("Rows kept", v.rows_kept)
        c[2].metric("Rows dropped", v.rows_dropped, help=v.help or None)
        if r.dropped:
            st.dataframe(v.reasons, hide_index=True)
        for n in v.notes:
            st.caption(md_text("Note: " + n))
        for w in v.warnings:
            st.warning(md_text(w))


if view_data.open:
    with view_data:
        st.subheader("Data in use")
        st.markdown(md_text(bundle.label))
        for n in bundle.notes:
            st.caption(md_text(n))
        for o in bundle.reports:
            show_outcome(o)
        if bundle.source != "demo" and st.button("Use the demo data again", key="use_demo"):
            st.session_state.pop("bundle", None)
            st.session_state.pop("upload_token", None)
            st.rerun()

        st.subheader("Load your own files")
        st.caption("Files are read as data only (CSV, zipped CSVs, Parquet, GeoPackage, GeoJSON) and kept in your session, "
                   "never shared with other users. Referral files must not hold names, dates of birth or addresses.")
        u1, u2 = st.columns(2)
        inc_files = u1.file_uploader("Incidents: police.uk street-level CSVs (or a zip), or any table with coordinates",
                                     type=UPLOAD_TYPES, accept_multiple_files=True, key="up_incidents")
        ref_files = u2.file_uploader("Referrals into the scheme", type=UPLOAD_TYPES, accept_multiple_files=True, key="up_referrals")
        task_files = u1.file_uploader("Reparative task sites", type=UPLOAD_TYPES, accept_multiple_files=True, key="up_tasks")
        boundary_file = u2.file_uploader("Study area boundary", type=UPLOAD_TYPES + ["shp"], key="up_boundary")
        asb_only = st.checkbox("Keep anti-social behaviour only (when the files hold other categories too)", value=True, key="asb_only")
        keep_holes = st.checkbox("Keep the boundary's holes (by default they are filled, as on the command line)", value=False,
                                 key="keep_holes")
        with st.expander("Column mapping for tables that are not police.uk files"):
            mc = st.columns(4)
            mapping = {
                "x": mc[0].text_input("x / longitude / easting column", key="map_x"),
                "y": mc[1].text_input("y / latitude / northing column", key="map_y"),
                "occurred": mc[2].text_input("date-time column", key="map_occurred"),
                "month": mc[3].text_input("month column", key="map_month"),
                "category": mc[0].text_input("category column", key="map_category"),
                "incident_id": mc[1].text_input("id column", key="map_id"),
            }
            crs = mc[2].selectbox("Coordinates", ["auto", 4326, 27700, 3857], key="map_crs",
                                  format_func={"auto": "detect", 4326: "longitude/latitude (EPSG:4326)", 27700: "British National Grid (EPSG:27700)",
                                               3857: "Web Mercator (EPSG:3857)"}.get)
        if inc_files or ref_files or task_files or boundary_file:
            from hotspots.app_support import content_token

            raw = [("incidents", f.name, f.getvalue()) for f in inc_files or []] + [("referrals", f.name, f.getvalue()) for f in ref_files or []] \
                + [("tasks", f.name, f.getvalue()) for f in task_files or []] + ([("boundary", boundary_file.name, boundary_file.getvalue())] if boundary_file else [])
            opts = {"mapping": {k: v for k, v in mapping.items() if v}, "crs": crs, "asb_only": asb_only, "keep_holes": keep_holes}
            token = content_token(raw, opts)
            if st.session_state.get("upload_token") != token:
                with st.spinner("Loading your files…"):
                    new_bundle, outcomes = load_uploads(
                        incidents=inc_files or [], referrals=ref_files or [], tasks=task_files or [], boundary=boundary_file,
                        incident_columns=mapping, incident_crs=crs, police_categories="Anti-social behaviour" if asb_only else None,
                        categories=None if asb_only else "all", keep_holes=keep_holes,
                        max_bytes=int(st.get_option("server.maxUploadSize")) * 1024 * 1024,  # also checked here, with a message
                    )
                st.session_state["upload_token"] = token
                st.session_state["upload_outcomes"] = outcomes
                if new_bundle is not None:
                    st.session_state["bundle"] = new_bundle
                    st.rerun()
            st.markdown("**Load reports**")
            for o in st.session_state.get("upload_outcomes", ()):
                show_outcome(o)
            if not inc_files:
                st.info("Add an incidents file to analyse your own data; until then the app keeps the current data.")
