"""hotspots — the Streamlit app: the hotspot manager's map, before/after, the scheme's figures and
the analyst's settings.

Run with ``streamlit run app.py`` (``scripts/demo``). It opens on the built-in synthetic demo
data; the Data tab loads your own files instead. This file is widgets, calls and layout: every
result comes from a cached library call (:mod:`hotspots.app_support.cached`), every figure from
:mod:`hotspots.summaries`, and every card, table, chart and map from :mod:`hotspots.app_support`.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ASB hotspots", layout="wide", initial_sidebar_state="expanded")

import os  # noqa: E402
import secrets  # noqa: E402
from functools import partial  # noqa: E402

from streamlit_folium import st_folium  # noqa: E402

from hotspots._errors import HotspotsError  # noqa: E402
from hotspots.app_support import (  # noqa: E402
    COLUMN_LABELS,
    CRS_LABELS,
    DataBundle,
    app_settings,
    area_downloads,
    change_downloads,
    change_metrics,
    charts,
    content_token,
    display_frame,
    export_available,
    export_downloads,
    funnel_bars,
    gi_class_counts,
    headline_metrics,
    jaccard_frame,
    kpi_cards,
    load_uploads,
    maplayers,
    md_text,
    method_caption,
    person_text,
    report_view,
    scheme_downloads,
    settings_used,
    url_defaults,
)
from hotspots.app_support import cached as c  # noqa: E402
from hotspots.app_support.drawn import draw_layer  # noqa: E402
from hotspots.app_support.mapview import show_map  # noqa: E402
from hotspots.maps import scheme_layers as sl  # noqa: E402
from hotspots.maps.base import CARTO_KEY_ENV  # noqa: E402
from hotspots.pipeline import CLUSTER_SETTINGS  # noqa: E402
from hotspots.schema import AGE_GROUPS, OFFENCES, ROUTES  # noqa: E402
from hotspots.summaries import headline, hotspot_change  # noqa: E402

MAP_HEIGHT = 620
UPLOAD_TYPES = ["csv", "gz", "zip", "parquet", "pq", "gpkg", "geojson", "json"]
BASEMAPS = {"none": "None (works offline)", "osm": "OpenStreetMap (internet)", "carto-light": "Carto light (internet)"}


def show_error(exc: BaseException) -> None:
    st.error(md_text(str(exc) if isinstance(exc, HotspotsError) else f"Unexpected problem ({type(exc).__name__}): {exc}"))


def downloads(items: list) -> None:
    """A row of download buttons (:class:`hotspots.app_support.Download`); each file is made on click."""
    for col, d in zip(st.columns(len(items)), items):
        col.download_button(d.label, data=d.make, file_name=d.file_name, mime=d.mime, key=d.key, on_click="ignore")


def metrics(items: list) -> None:
    """A row of cards (label, value, help): :class:`hotspots.app_support.Metric` or :class:`~hotspots.app_support.Card`."""
    for col, m in zip(st.columns(len(items)), items):
        col.metric(m.label, m.value, help=md_text(m.help) if m.help else None)


# =============================================================================== sidebar
owner = st.session_state.setdefault("owner", secrets.token_hex(16))  # this session: part of its uploads' tokens
bundle: DataBundle = st.session_state.get("bundle") or c.demo_data(0)
months, defaults = c.months_of(bundle), bundle.defaults
whole = (months[0], months[-1])
start = url_defaults(st.query_params.to_dict(), months,
                     {"period": whole, "before": defaults.before or whole, "after": defaults.after or whole})
tag, v = bundle.token[-16:], {}
with st.sidebar:
    st.header("ASB hotspots")
    st.caption(md_text(bundle.label))
    st.subheader("Periods")
    v["period"] = st.select_slider("Hotspot period", months, start["period"], key=f"period-{tag}",
                                   help="Months whose incidents define the hotspots.")
    v["before"] = st.select_slider("Before period", months, start["before"], key=f"before-{tag}")
    v["after"] = st.select_slider("After period", months, start["after"], key=f"after-{tag}",
                                  help=f"Default: chosen from the data's months and the scheme start ({defaults.scheme_start}); "
                                  "see the Analyst tab.")
    v["same_months"] = st.checkbox("Compare the same calendar months only", value=False, key="same_months")
    with st.expander("Analyst settings", expanded=False):
        v["auto_cell"] = st.checkbox("Automatic cell size", value=start["auto_cell"], key="auto_cell",
                                     help="The same automatic choice as the command line (announced in the Analyst tab).")
        v["cell_size"] = st.number_input("Cell size (m)", 50, 5000, start["cell"], 50, key="cell_size", disabled=v["auto_cell"])
        v["auto_bw"] = st.checkbox("Automatic bandwidth", value=True, key="auto_bw")
        v["bandwidth"] = st.number_input("Bandwidth (m)", 50, 20000, 1000, 50, key="bandwidth", disabled=v["auto_bw"])
        v["bandwidth_rule"] = st.selectbox("Bandwidth rule", ["arcgis", "sfhotspot"], key="bandwidth_rule",
                                           disabled=not v["auto_bw"])
        v["kernel"] = st.selectbox("Kernel", ["quartic", "gaussian", "epanechnikov"], key="kernel")
        v["auto_dist"] = st.checkbox("Automatic distance band", value=True, key="auto_dist",
                                     help="Incremental spatial autocorrelation (ArcGIS Optimized Hot Spot Analysis's rule).")
        v["distance"] = st.number_input("Distance band (m)", 50, 20000, 750, 50, key="distance", disabled=v["auto_dist"])
        v["alpha"] = st.select_slider("Significance level (alpha)", options=[0.01, 0.05, 0.10], value=0.05, key="alpha")
        v["fdr"] = st.checkbox("False discovery rate control (Benjamini–Hochberg)", value=True, key="fdr")
        v["permutations"] = st.selectbox("Permutations (0 = analytic p-values)", [0, 99, 199, 499, 999], key="permutations")
        v["seed"] = st.number_input("Random seed", 0, 2**31 - 1, 0, 1, key="seed")
        v["min_confidence"] = st.select_slider("Minimum Gi* confidence for hotspot areas", options=[0.90, 0.95, 0.99], value=0.90,
                                               key="min_confidence", format_func=lambda x: f"{x:.0%}")
        v["cluster_method"] = st.selectbox("Point clusters", ["dbscan", "hdbscan", "none"], key="cluster_method")
        v["eps"] = st.number_input("DBSCAN radius eps (m)", 10, 5000, 150, 10, key="eps")
        v["min_samples"] = st.number_input("Core size (min samples)", 2, 1000, 20, 1, key="min_samples")
        v["near_m"] = st.number_input("Local reparation within (m)", 100, 20000, 2000, 100, key="near_m")
settings = app_settings(v, months, defaults)
s_hot, s_change, s_link, s_table = (settings.only(*names) for names in (c.HOT, c.CHANGE, c.LINK, c.TABLE))

# =============================================================================== headline
st.title("Anti-social behaviour hotspots")
try:
    hot = c.stage(bundle, s_hot)
    changes, change_note = c.change(bundle, s_change, "areas")
    link, table = c.linkage(bundle, s_link), c.area_table(bundle, s_table)
except Exception as exc:  # bad settings or data: an error box, never a traceback
    show_error(exc)
    st.stop()
summary = hotspot_change(changes)
metrics(headline_metrics(headline(hot), summary, change_note))
tabs = st.tabs(["Map", "Before / after", "Scheme", "Analyst", "Data"], key="view", on_change="rerun")
view_map, view_change, view_scheme, view_analyst, view_data = tabs
bounds = None if bundle.study_area is not None else hot.grid.bounds


# =============================================================================== map
@st.fragment
def map_view() -> None:
    """The map and its display options: changing an option reruns only this part of the page."""
    o = st.columns([1.3, 1, 1.3])
    options = [b for b in BASEMAPS if b != "carto-light" or os.environ.get(CARTO_KEY_ENV)]
    basemap = o[0].selectbox("Basemap", options, key="basemap", format_func=BASEMAPS.get)
    snap_m = o[1].select_slider("Referral squares (m)", [100, 250, 500, 1000], value=250, key="snap_m",
                                help="Referral locations are only ever shown snapped to squares of this size.")
    method = settings.cluster_method
    show_clusters = method != "none" and o[2].toggle(f"Add {method.upper()} point clusters to the map", key="show_clusters")
    try:
        layers = (*c.analysis_layers(bundle, settings.only(*c.TABLE, *CLUSTER_SETTINGS), show_clusters),
                  *c.scheme_layers(bundle, float(snap_m), settings.near_m, settings.threshold))
        show_map(c.base_map(bundle, bounds, basemap, MAP_HEIGHT), layers, key="main_map", height=MAP_HEIGHT)
    except Exception as exc:
        show_error(exc)
    st.caption(md_text(method_caption(hot, settings)))
    if export_available():
        st.subheader("Briefing map and GIS files")
        st.caption("A slide-ready map (title, legend, scale bar, north arrow, attribution; small numbers suppressed) and "
                   "every layer for QGIS/ArcGIS. Made when you click (a few seconds).")
        names = {"density": "Density", "gistar": "Gi* classes", "areas": "Hotspot areas", "change": "Change", "scheme": "Scheme"}
        brief = st.selectbox("Briefing map shows", [k for k in names if k != "scheme" or link is not None], format_func=names.get,
                             key="brief_layer")
        an = partial(c.full_analysis, bundle, settings.only(*c.TABLE, "threshold"))
        downloads(export_downloads(an, layer=brief, basemap=basemap, snap_m=float(snap_m)))


if view_map.open:
    with view_map:
        map_view()
        st.subheader("Hotspot areas")
        if hot.areas.n_areas == 0:
            st.info("No hotspot areas at these settings: try a larger cell size, a longer distance band or a lower confidence.")
        else:
            st.dataframe(display_frame(table), hide_index=True, key="area_table",
                         column_config={k: x for k, x in sl.AREA_LABELS.items() if k in table.columns})
        downloads(area_downloads(table, hot))

# =============================================================================== before / after
if view_change.open:
    with view_change:
        try:
            cells, cell_note = c.change(bundle, s_change, "cells")
        except Exception as exc:
            show_error(exc)
            cells, cell_note = None, None
        if cells is None:
            st.warning(md_text(cell_note or change_note or "Before/after change could not be computed."))
        else:
            metrics(change_metrics(cells, summary))
            st.caption(md_text(cells.describe()))
            try:
                dens = c.period_density(bundle, s_change)
                st.markdown("**Density per month, before (left) and after (right)** — same colours on both maps; "
                            "pan one and the other follows.")
                basemap = st.session_state.get("basemap", "none")
                dual = maplayers.before_after_map(dens, table, bundle.study_area, bounds, basemap=basemap)
                st_folium(dual, returned_objects=[], height=480, use_container_width=True, key="dual_map")
                st.markdown("**Change map** — cells whose rate changed significantly, hotspot areas coloured by their change.")
                show_map(c.base_map(bundle, bounds, "none", 520), c.change_layers(bundle, s_table), key="change_map", height=520)
            except Exception as exc:
                show_error(exc)
            st.subheader("Change per hotspot")
            if changes is None:
                st.info(md_text(change_note or "No hotspot areas to compare."))
            else:
                wanted = ("area_id", "incidents", "before", "after", "change_pct", "change_class")
                shown = [k for k in wanted if k in table.columns]
                st.dataframe(display_frame(table[shown]), hide_index=True, key="change_table",
                             column_config={k: sl.AREA_LABELS[k] for k in shown})
                downloads(change_downloads(changes, cells))


# =============================================================================== scheme
def scheme_figures(kp, chosen: tuple) -> None:
    """KPI cards, funnel, reparation and breakdown tables for the referrals matching ``chosen``."""
    s = settings.only(*c.LINK, "threshold")
    metrics(kpi_cards(kp))
    st.caption("Counts of 1–4 people are shown as <5, and figures that would reveal them as ‘suppressed’ (c).")
    g1, g2 = st.columns(2)
    fun = c.kpis(bundle, s, chosen, funnel=True)
    with g1:
        st.markdown("**Referral funnel**")
        st.altair_chart(charts.funnel_chart(funnel_bars(fun)), width="stretch")
        st.dataframe(display_frame(fun.table), hide_index=True, key="funnel_table")
    with g2:
        st.markdown("**Where reparation happens** (all referrals)")
        st.dataframe(display_frame(link.summary_display), hide_index=True, key="linkage_table")
        st.caption(md_text(f"Local: task site within {settings.near_m:,.0f} m of the harm or in the same town. "
                           "Per hotspot: see the map's hotspot popups and the Reparation by hotspot download."))
    by = st.selectbox("Break the figures down by", ["offence", "route", "age_group", "hotspot", "month"], key="kpi_by")
    kb = c.kpis(bundle, s, chosen, by)
    st.dataframe(display_frame(kb.table), hide_index=True, key="kpi_table")
    st.caption(md_text(kp.window))
    for note in kp.notes:
        st.caption(md_text(person_text(note, settings.threshold)))
    downloads(scheme_downloads(kb, fun, link, by))


if view_scheme.open:
    with view_scheme:
        st.subheader("ASB in hotspots and elsewhere, per month")
        series = c.monthly(bundle, settings.only(*c.HOT, "scheme_start"))
        as_index = st.toggle("Show as an index (mean of the months before the scheme = 100)", value=False, key="monthly_index")
        if len(series.table):
            st.altair_chart(charts.monthly_chart(series, as_index=as_index), width="stretch")
        if link is None:
            st.info("No referral data: load a referrals file in the Data tab to see the scheme's figures.")
        else:
            st.subheader("Scheme figures")
            f = st.columns(4)
            present = {k: set(link.table[k].dropna()) for k in ("offence", "route", "age_group")}
            offences = f[0].multiselect("Offence", [x for x in OFFENCES if x in present["offence"]], key="f_offence")
            routes = f[1].multiselect("Route", [x for x in ROUTES if x in present["route"]], key="f_route")
            ages = f[2].multiselect("Age group", [x for x in AGE_GROUPS if x in present["age_group"]], key="f_age")
            areas = [str(i) for i in hot.areas.areas["area_id"]]
            hotspot = f[3].selectbox("Hotspot", ["all", "in hotspots", "outside hotspots"] + areas,
                                     key="f_hotspot", format_func=lambda x: x if not x.isdigit() else f"hotspot {x}")
            chosen = (tuple(offences), tuple(routes), tuple(ages), hotspot)
            try:
                kp = c.kpis(bundle, settings.only(*c.LINK, "threshold"), chosen)
                if kp is None:
                    st.warning("No referrals match these filters.")
                else:
                    scheme_figures(kp, chosen)
            except Exception as exc:
                show_error(exc)

# =============================================================================== analyst
if view_analyst.open:
    with view_analyst:
        st.subheader("Automatic choices and notes")
        for note in dict.fromkeys(bundle.prepared.notes + hot.notes + ((change_note,) if change_note else ())):
            st.markdown("- " + md_text(note))
        a1, a2 = st.columns(2)
        a1.markdown("**Gi\\* cells per class**")
        a1.dataframe(gi_class_counts(hot.gi, hot.grid), hide_index=True, key="gi_classes")
        a2.markdown("**Settings used**")
        a2.dataframe(settings_used(hot, settings), hide_index=True, key="used")
        if settings.cluster_method != "none":
            try:
                found = c.clusters(bundle, settings.only(*CLUSTER_SETTINGS))
                st.markdown(f"**Point clusters ({settings.cluster_method.upper()})**: {found.n_clusters:,} clusters")
                if found.n_clusters:
                    st.dataframe(display_frame(found.polygons), hide_index=True, key="clusters_table")
            except Exception as exc:
                show_error(exc)
        st.subheader("Stability of the hotspots")
        st.caption("Runs Gi* for every combination of cell size and distance band (as multiples of the cell size) and compares "
                   "their hot cells: Jaccard overlap 1 = identical, 0 = no overlap.")
        s1, s2 = st.columns(2)
        sizes = s1.multiselect("Cell sizes (m)", [100, 150, 200, 250, 300, 400, 500, 750, 1000], [200, 250, 300],
                               key="stab_sizes")
        mults = s2.multiselect("Distance bands (× cell size)", [1.5, 2.0, 3.0, 4.0], default=[2.0, 3.0], key="stab_mults")
        if st.button("Run the stability sweep", key="stab_run"):
            st.session_state["stab_request"] = (tuple(sorted(sizes)), tuple(sorted(mults)))
        req = st.session_state.get("stab_request")
        if req and req[0] and req[1]:
            try:
                res = c.sweep(bundle, settings.only("period", "alpha", "fdr", "seed"), *req)
                m1, m2 = st.columns(2)
                m1.metric("Mean Jaccard overlap", f"{res.mean_jaccard:.2f}")
                m2.metric("Cells hot in ≥ 80 % of runs", f"{int(res.robust_cells(0.8).sum()):,}")
                st.dataframe(display_frame(res.table), hide_index=True, key="stab_table")
                st.altair_chart(charts.jaccard_chart(jaccard_frame(res)), width="stretch")
                st.markdown("**Robustness surface**: share of runs in which each cell is hot.")
                surface = draw_layer(maplayers.robustness_layer(res))
                show_map(c.base_map(bundle, bounds, "none", 450), [surface], key="stab_map", height=450)
            except Exception as exc:
                show_error(exc)


# =============================================================================== data
def show_outcome(o) -> None:
    title = f"{o.kind}: " + ", ".join(o.files)
    if not o.ok:
        st.error(md_text(f"{title} — {o.error}"))
        if o.report is None:
            return
    with st.container(border=True):
        st.markdown(f"**{md_text(title)}**")
        if o.report is None:
            st.markdown(f"{o.rows:,} rows")
            return
        # Referral files hold one row per person: their small counts are suppressed too.
        r = report_view(o.report, person=o.kind == "referrals", threshold=settings.threshold)
        m = st.columns(3)
        m[0].metric("Rows read", r.rows_read, help=r.help or None)
        m[1].metric("Rows kept", r.rows_kept)
        m[2].metric("Rows dropped", r.rows_dropped, help=r.help or None)
        if o.report.dropped:
            st.dataframe(r.reasons, hide_index=True)
        for n in r.notes:
            st.caption(md_text("Note: " + n))
        for w in r.warnings:
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
        st.caption("Files are read as data only (CSV, zipped CSVs, Parquet, GeoPackage, GeoJSON) and kept in your session, never "
                   "shared with other users. Referral files must not hold names, dates of birth or addresses.")
        u1, u2 = st.columns(2)
        many = {"type": UPLOAD_TYPES, "accept_multiple_files": True}
        inc_files = u1.file_uploader("Incidents: police.uk street-level CSVs (or a zip), or any table with coordinates",
                                     key="up_incidents", **many)
        ref_files = u2.file_uploader("Referrals into the scheme", key="up_referrals", **many)
        task_files = u1.file_uploader("Reparative task sites", key="up_tasks", **many)
        boundary_file = u2.file_uploader("Study area boundary", type=UPLOAD_TYPES + ["shp"], key="up_boundary")
        asb_only = st.checkbox("Keep anti-social behaviour only (when the files hold other categories too)", True, key="asb_only")
        keep_holes = st.checkbox("Keep the boundary's holes (by default they are filled, as on the command line)", value=False,
                                 key="keep_holes")
        with st.expander("Column mapping for tables that are not police.uk files"):
            mc = st.columns(4)
            mapping = {k: mc[i % 4].text_input(label, key="map_id" if k == "incident_id" else f"map_{k}")
                       for i, (k, label) in enumerate(COLUMN_LABELS.items())}
            crs = mc[2].selectbox("Coordinates", list(CRS_LABELS), key="map_crs", format_func=CRS_LABELS.get)
        files = [("incidents", f) for f in inc_files or []] + [("referrals", f) for f in ref_files or []]
        files += [("tasks", f) for f in task_files or []] + ([("boundary", boundary_file)] if boundary_file else [])
        if files:
            opts = {"mapping": {k: x for k, x in mapping.items() if x}, "crs": crs, "asb_only": asb_only,
                    "keep_holes": keep_holes}
            token = content_token([(kind, f.name, f.getvalue()) for kind, f in files], opts)
            if st.session_state.get("upload_token") != token:
                with st.spinner("Loading your files…"):
                    new_bundle, outcomes = load_uploads(
                        incidents=inc_files or [], referrals=ref_files or [], tasks=task_files or [], boundary=boundary_file,
                        incident_columns=mapping, incident_crs=crs, categories=None if asb_only else "all", keep_holes=keep_holes,
                        owner=owner, max_bytes=int(st.get_option("server.maxUploadSize")) * 1024 * 1024,  # checked here too
                    )
                st.session_state["upload_token"], st.session_state["upload_outcomes"] = token, outcomes
                if new_bundle is not None:
                    st.session_state["bundle"] = new_bundle
                    st.rerun()
            st.markdown("**Load reports**")
            for o in st.session_state.get("upload_outcomes", ()):
                show_outcome(o)
            if not inc_files:
                st.info("Add an incidents file to analyse your own data; until then the app keeps the current data.")
