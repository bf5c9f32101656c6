"""hotspots — the Streamlit app (``streamlit run app.py``; ``scripts/demo``): the hotspot map, before/after, the
scheme's figures and the analyst's settings, on the demo data or your files. Widgets, calls and layout only: results
from cached library calls (:mod:`hotspots.app_support.cached`), figures from :mod:`hotspots.summaries`, cards,
tables, charts and maps from :mod:`hotspots.app_support`."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ASB hotspots", layout="wide", initial_sidebar_state="expanded")

import os  # noqa: E402
import secrets  # noqa: E402
from functools import partial  # noqa: E402

from streamlit_folium import st_folium  # noqa: E402

from hotspots.app_support import (  # noqa: E402
    BRIEFING_FORMATS,
    BRIEFING_LAYERS,
    COLUMN_LABELS,
    CRS_LABELS,
    DataBundle,
    SweepRequest,
    app_settings,
    area_downloads,
    before_after_withheld,
    briefing_layers,
    bundle_inputs,
    change_downloads,
    change_map_caption,
    change_metrics,
    change_rows,
    charts,
    content_token,
    emerging_view,
    export_available,
    export_downloads,
    failed_upload_text,
    funnel_bars,
    gi_class_counts,
    headline_metrics,
    hotspot_names,
    index_unavailable,
    jaccard_frame,
    load_uploads,
    maplayers,
    md_text,
    method_caption,
    no_areas_text,
    note_text,
    period_coverage_text,
    periods_help,
    periods_refused,
    person_text,
    scheme_downloads,
    settings_used,
    short_title,
    stability_choices,
    stability_metrics,
    stability_rows,
    url_defaults,
    view_cards,
)
from hotspots.app_support import cached as c  # noqa: E402
from hotspots.app_support import widgets as w  # noqa: E402
from hotspots.app_support.drawn import draw_layer  # noqa: E402
from hotspots.app_support.mapview import show_map  # noqa: E402
from hotspots.app_support.scheme_start import notes_with_scheme_start  # noqa: E402
from hotspots.app_support.widgets import analyst_settings, chart, downloads, metrics, show_error, table  # noqa: E402
from hotspots.datadir import force_bundle, force_folders  # noqa: E402
from hotspots.io.referrals import DROP_IDENTIFYING_CONTROL  # noqa: E402
from hotspots.maps.base import CARTO_KEY_ENV  # noqa: E402
from hotspots.pipeline import CLUSTER_SETTINGS  # noqa: E402
from hotspots.schema import AGE_GROUPS, OFFENCES, ROUTES  # noqa: E402
from hotspots.summaries import headline, hotspot_change, title_text  # noqa: E402

MAP_HEIGHT = 620
UPLOAD_TYPES = ["csv", "gz", "zip", "parquet", "pq", "gpkg", "geojson", "json"]
BASEMAPS = {"none": "None (works offline)", "osm": "OpenStreetMap (internet)", "carto-light": "Carto light (internet)"}


# =============================================================================== sidebar
owner = st.session_state.setdefault("owner", secrets.token_hex(16))  # this session: part of its uploads' tokens
folders = {f.id: f for f in force_folders()}  # forces' police.uk files under data/police_uk/ (hotspots fetch)
w.data_selector(folders, lambda pick: c.demo_data(0) if pick == "demo" else force_bundle(folders[pick]))
bundle: DataBundle = st.session_state.get("bundle") or c.demo_data(0)
months, defaults = c.months_of(bundle), bundle.defaults
whole = (months[0], months[-1])
start = url_defaults(st.query_params.to_dict(), months,
                     {"period": whole, "before": defaults.before or whole, "after": defaults.after or whole})
tag, v = bundle.token[-16:], {}
with st.sidebar:
    st.header(short_title(bundle.incidents))
    if start["warning"]:
        st.warning(md_text(start["warning"]))
    st.caption(md_text(bundle.label))
    st.subheader("Periods")
    v["scheme_start"], start, ptag, period_note = w.scheme_start(months, defaults, start, tag)  # as the CLI's
    v["period"] = st.select_slider("Hotspot period", months, start["period"], key=f"period-{tag}",
                                   help="Months whose incidents define the hotspots.")
    v["before"] = st.select_slider("Before period", months, start["before"], key=f"before-{ptag}")
    v["after"] = st.select_slider("After period", months, start["after"], key=f"after-{ptag}", help=periods_help(defaults))
    v["same_months"] = st.checkbox("Compare the same calendar months only", value=False, key="same_months")
    v["ring_m"] = w.number_box("ring_m", 500, 50)
    with st.expander("Analyst settings", expanded=False):
        in_use = analyst_settings(v, start,
                                  lambda w: c.cell_size(bundle, app_settings(w, months, defaults).only("period", "cell_size")))
snap_m = v["snap_m"]
settings = app_settings(v, months, defaults)
if refused := periods_refused(settings, months):  # said beside the period controls, not only in the Before / after tab
    st.sidebar.warning(note_text(refused))
s_hot, s_change, s_link, s_table = (settings.only(*names) for names in (c.HOT, c.CHANGE, c.LINK, c.TABLE))

# =============================================================================== headline
st.title(title_text(bundle.incidents, bundle.prepared.force))
if st.session_state.get("upload_failed") and (failed := failed_upload_text(st.session_state["upload_outcomes"], bundle.label)):
    st.error(note_text(failed))  # said where it is seen, not only at the foot of the Data tab
try:
    hot = c.stage(bundle, s_hot)
    changes, change_note = c.change(bundle, s_change, "areas")
    plain = c.area_table(bundle, s_table, None)  # without referral figures: the map does not wait for their protection
except Exception as exc:  # bad settings or data: an error box, never a traceback
    show_error(exc)
    in_use(None)
    st.stop()
in_use(hot)
summary = hotspot_change(changes)
metrics(headline_metrics(headline(hot), summary, change_note))
view_map, view_change, view_scheme, view_analyst, view_data = st.tabs(["Map", "Before / after", "Scheme", "Analyst", "Data"],
                                                                      key="view", on_change="rerun")
bounds = None if bundle.study_area is not None else hot.grid.bounds


# =============================================================================== map
@st.fragment
def map_view() -> None:
    """The map and its display options: changing an option reruns only this part of the page."""
    o = st.columns(4)
    basemap = o[0].selectbox("Basemap", [b for b in BASEMAPS if b != "carto-light" or os.environ.get(CARTO_KEY_ENV)],
                             key="basemap", format_func=BASEMAPS.get)
    show_clusters = settings.cluster_method != "none" and o[1].toggle("Point clusters", key="show_clusters",
                                                                      help="Add the point clusters to the map")
    # Person-level layers are built only when switched on here (switched off in the map's control, they would be sent).
    scheme = bundle.referrals is not None
    origins = scheme and o[2].toggle("Referral origins", key="show_origins",
                                     help="Show where referrals come from, as counts per square (1–4 shown as <5)")
    flows = scheme and bundle.tasks is not None and o[3].toggle("Referral → task flows", key="show_flows",
                                                                help="Lines from where referrals come from to their task sites")
    try:
        layers = (*c.analysis_layers(bundle, settings.only(*c.TABLE, *CLUSTER_SETTINGS), None, show_clusters),
                  *c.scheme_layers(bundle, s_link if origins or flows else None, snap_m, origins, flows))
        show_map(c.base_map(bundle, bounds, basemap, MAP_HEIGHT), layers, key="main_map", height=MAP_HEIGHT)
    except Exception as exc:
        show_error(exc)
    st.caption(md_text(method_caption(hot, settings, referrals=scheme)))
    if export_available():
        st.subheader("Briefing map and GIS files")
        st.caption("A slide-ready map (small numbers suppressed) and every layer for QGIS/ArcGIS, made when you click.")
        # the change cells' reason when they are not computed: no before/after image or change map is offered then
        withheld = before_after_withheld(refused, *((None, None) if refused else c.change(bundle, s_change, "cells")))
        b = st.columns(2)
        full = len(set(months) - set(settings.missing_months or ()))  # emerging hot spots leave months without data out
        brief = b[0].selectbox("Briefing map shows", briefing_layers(scheme, full, change=not withheld),
                               format_func=BRIEFING_LAYERS.get, key="brief_layer")
        fmt = b[1].radio("Briefing format", list(BRIEFING_FORMATS), format_func=str.upper, horizontal=True, key="brief_format",
                         help="PNG for slides; PDF (vector) for print")
        an = partial(c.full_analysis, bundle, settings.only(*c.EXPORT), snap_m)
        downloads(export_downloads(an, layer=brief, basemap=basemap, snap_m=snap_m, before_after=not withheld, fmt=fmt,
                                   inputs=bundle_inputs(bundle.reports)))
        if withheld:
            st.caption(note_text(withheld))


if view_map.open:
    with view_map:
        if gaps := period_coverage_text(bundle.incidents, settings, months):  # a month published in part, or none
            st.warning(note_text(gaps))
        map_view()
        st.subheader("Hotspot areas")
        refs = bundle.referrals is not None and st.toggle("Add the scheme's referral figures (a few seconds for new settings)",
                                                          key="area_referrals")
        area_rows = c.area_table(bundle, s_table, snap_m if refs else None)
        st.info(md_text(no_areas_text(hot))) if hot.areas.n_areas == 0 else table(area_rows, key="area_table")
        # the map's table (with referral figures, on click) and the results folder's csv/hotspot_areas.csv
        downloads(area_downloads(partial(c.area_table, bundle, s_table, snap_m), hot,
                                 partial(c.area_csv, bundle, settings, snap_m)))

# =============================================================================== before / after
if view_change.open:
    with view_change:
        cells, cell_note = c.change(bundle, s_change, "cells")  # a note, not an error, when it cannot be computed
        if cells is None:
            st.warning(note_text(cell_note or change_note or "Before/after change could not be computed."))
        else:
            pooled = c.pooled(bundle, settings.only(*c.RINGS))  # first: did the hotspots fall, relative to elsewhere?
            gaps = period_coverage_text(bundle.incidents, settings, months, change=True)  # months without (full) data, first
            for caveat in (*filter(None, [gaps]), *pooled.warnings):  # a compared period under 3 months, the season
                st.warning(note_text(caveat))
            if len(pooled.frame):  # no rows without hotspot areas: the caption says why
                st.dataframe(pooled.frame, hide_index=True, key="change_summary")
            st.caption(note_text(pooled.caption))
            metrics(change_metrics(cells))
            st.caption(note_text(cells.describe()))
            try:
                dens = c.period_density(bundle, s_change)
                st.markdown("**Density per month, before (left) and after (right)** — same colours; pan one, the other follows.")
                basemap = st.session_state.get("basemap", "none")
                dual = maplayers.before_after_map(dens, plain, bundle.study_area, bounds, basemap=basemap)
                st_folium(dual, returned_objects=[], height=480, use_container_width=True, key="dual_map")
                st.markdown(change_map_caption(settings.ring_m))
                layers = c.change_layers(bundle, settings.only(*c.EXPORT), None)
                show_map(c.base_map(bundle, bounds, "none", 520), layers, key="change_map", height=520)
            except Exception as exc:
                show_error(exc)
            st.subheader("Change per hotspot")
            if changes is None:
                st.info(note_text(change_note or "No hotspot areas to compare."))
            else:
                per_area = change_rows(c.change_table(bundle, settings.only(*c.RINGS)))
                table(per_area, key="change_table")
                downloads(change_downloads(lambda: per_area, cells))  # the table shown, with its names and numbers
        st.subheader("Trends over the months (emerging hot spots)")
        trend_table, trend_caption = emerging_view(*c.emerging(bundle, s_hot))
        st.caption(note_text(trend_caption))
        if trend_table is not None:
            st.dataframe(trend_table, hide_index=True, key="emerging_table")


# =============================================================================== scheme
def scheme_figures(view: dict, pub) -> None:
    """KPI cards and funnel of a protected view, where reparation happens, and the published breakdowns."""
    metrics(view_cards(view, pub.window))
    if caveat := pub.text(bundle.outcome_caveat(settings.threshold)):  # outcomes left out of the completion rate
        st.warning(md_text(caveat[0].upper() + caveat[1:] + "."))
    st.caption(note_text(pub.statement + (" " + view["note"] if view["note"] else "")))
    g1, g2 = st.columns(2)
    bars = funnel_bars(view)
    with g1:
        st.markdown("**Referral funnel**")
        chart(partial(charts.funnel_chart, bars), charts.funnel_note(bars))
        table(bars[["stage", "shown"]], key="funnel_table")
    with g2:
        st.markdown("**Where reparation happens** (all referrals)")
        table(pub.referrals_summary, key="linkage_table")
        st.caption(md_text(f"Reparation local, {pub.local_rule}. "
                           "Per hotspot: see the map's hotspot popups and the Reparation by hotspot download."))
    by = st.selectbox("Break the figures down by", ["offence", "route", "age_group", "hotspot", "month"], key="kpi_by")
    kb = pub.kpis.get(by)
    if kb is None:
        st.info(md_text(f"No `{by}` in the referral data."))
    else:
        st.caption("The published table for all referrals (the filters above do not apply to it).")
        table(kb, names=hotspot_names(plain), key="kpi_table")
    st.caption(note_text(pub.window))
    # data checks, then the KPI notes, each count as published (pub.text: as the KPI tables)
    for note in dict.fromkeys(c.linkage(bundle, s_link).notes + pub.data_notes):
        st.caption(note_text(person_text(pub.text(note), settings.threshold)))
    downloads(scheme_downloads(pub, by))


if view_scheme.open:
    with view_scheme:
        st.subheader("ASB in hotspots and elsewhere, per month")
        series = c.monthly(bundle, settings.only(*c.HOT, "scheme_start"))
        no_index = index_unavailable(series)  # the toggle greyed out, and why, rather than a chart hidden
        as_index = st.toggle("Show as an index (mean of the months before the scheme = 100)", value=False, key="monthly_index",
                             disabled=no_index is not None, help=no_index) and no_index is None
        chart(partial(charts.monthly_chart, series, as_index=as_index), charts.monthly_note(series, as_index=as_index))
        pub = c.publication(bundle, s_link, snap_m)
        if pub is None:
            st.info("No referral data: load a referrals file in the Data tab to see the scheme's figures.")
        else:
            st.subheader("Scheme figures")
            if mismatch := c.linkage(bundle, s_link).mismatch:  # referrals or task sites of another force than the incidents
                st.warning(md_text(mismatch))
            f = st.columns(4)
            present = {k: set(c.linkage(bundle, s_link).table[k].dropna()) for k in ("offence", "route", "age_group")}
            offences = f[0].multiselect("Offence", [x for x in OFFENCES if x in present["offence"]], key="f_offence")
            routes = f[1].multiselect("Route", [x for x in ROUTES if x in present["route"]], key="f_route")
            ages = f[2].multiselect("Age group", [x for x in AGE_GROUPS if x in present["age_group"]], key="f_age")
            areas = [str(i) for i in hot.areas.areas["area_id"]]
            hotspot = f[3].selectbox("Hotspot", ["all", "in hotspots", "outside hotspots"] + areas,
                                     key="f_hotspot", format_func=lambda x: hotspot_names(plain).get(x, x))
            try:
                scheme_figures(c.view(bundle, s_link, snap_m, (tuple(offences), tuple(routes), tuple(ages), hotspot)), pub)
            except Exception as exc:
                show_error(exc)

# =============================================================================== analyst
if view_analyst.open:
    with view_analyst:
        st.subheader("Automatic choices and notes")
        data_notes = notes_with_scheme_start(bundle.prepared.notes, period_note)  # periods set in the sidebar: their note
        for note in dict.fromkeys(data_notes + hot.notes + ((change_note,) if change_note else ())):
            st.markdown("- " + note_text(note))
        a1, a2 = st.columns(2)
        a1.markdown("**Gi\\* cells per class**")
        table(gi_class_counts(hot.gi, hot.grid), key="gi_classes", where=a1)
        a2.markdown("**Settings used**")
        table(settings_used(hot, settings), key="used", where=a2)
        if settings.cluster_method != "none":
            try:
                found = c.clusters(bundle, settings.only(*CLUSTER_SETTINGS))
                st.markdown(f"**Point clusters ({settings.cluster_method.upper()})**: {found.n_clusters:,} clusters")
                if found.n_clusters:
                    table(found.polygons, key="clusters_table")
            except Exception as exc:
                show_error(exc)
        st.subheader("Stability of the hotspots")
        st.caption("Gi* at each cell size and distance band (× cell size), hot cells compared: Jaccard 1 = same, 0 = disjoint.")
        s1, s2 = st.columns(2)
        ch = stability_choices(hot)  # the analysis's own cell size and distance band among those chosen at first
        sizes = s1.multiselect("Cell sizes (m)", ch.sizes, ch.size_default, key="stab_sizes")
        mults = s2.multiselect("Distance bands (× cell size)", ch.mults, ch.mult_default, key="stab_mults",
                               format_func=ch.mult_label)
        if st.button("Run the stability sweep", key="stab_run"):
            st.session_state["stab_request"] = SweepRequest.of(hot, settings, bundle.token, sizes, mults)
        req: SweepRequest | None = st.session_state.get("stab_request")
        if req and req.sizes and req.mults and (stale := req.out_of_date(hot, settings, bundle.token)):
            st.warning(note_text(stale))  # the settings it was run for, said beside it; other data: not shown
        if req and req.sizes and req.mults and req.token == bundle.token:
            try:
                res = c.sweep(bundle, req.settings, req.sizes, req.mults)
                st.caption(note_text(req.run_for()))
                metrics(stability_metrics(res))
                table(stability_rows(res), key="stab_table")
                st.altair_chart(charts.jaccard_chart(jaccard_frame(res)), width="stretch")
                st.markdown("**Robustness surface**: share of runs in which each cell is hot.")
                show_map(c.base_map(bundle, bounds, "none", 450), [draw_layer(maplayers.robustness_layer(res))], key="stab_map",
                         height=450)
            except Exception as exc:
                show_error(exc)


# =============================================================================== data
if view_data.open:
    with view_data:
        st.subheader("Data in use")
        st.markdown(md_text(bundle.label))
        for n in notes_with_scheme_start(bundle.notes, period_note):  # the periods in use (sidebar's scheme start)
            st.caption(note_text(n))
        for o in bundle.reports:
            # the referral file in use: its counts as the analysis publishes them (parameters.json)
            pub_d = c.publication(bundle, s_link, snap_m) if o.kind == "referrals" and o.report is not None else None
            w.load_report(o, settings.threshold, *((pub_d.load_report(o.report), pub_d.text) if pub_d is not None else ()))
        if bundle.source != "demo" and st.button("Use the demo data again", key="use_demo"):
            st.session_state.pop("bundle", None)  # the files still in the boxes are not loaded again (same token)
            st.session_state["data_choice_pending"] = "demo"  # the sidebar's selector says so
            st.rerun()
        st.subheader("Load your own files")
        st.caption("Files are read as data only (CSV, zipped CSVs, Parquet, GeoPackage, GeoJSON) and kept in your session, never "
                   "shared with other users. Referral files must not hold names, dates of birth or addresses.")
        u1, u2 = st.columns(2)
        many = {"type": UPLOAD_TYPES, "accept_multiple_files": True}
        inc_files = u1.file_uploader("Incidents: police.uk street-level CSVs (or a zip), or any table with coordinates",
                                     key="up_incidents", **many)
        ref_files = u2.file_uploader("Referrals into the scheme", key="up_referrals", **many)
        drop_ids = u2.checkbox(DROP_IDENTIFYING_CONTROL, False, key="drop_identifying")  # else such a file is refused
        task_files = u1.file_uploader("Reparative task sites", key="up_tasks", **many)
        boundary_file = u2.file_uploader("Study area boundary", type=UPLOAD_TYPES + ["shp"], key="up_boundary")
        asb_only = st.checkbox("Keep anti-social behaviour only (when the files hold other categories too)", True, key="asb_only")
        keep_holes = st.checkbox("Keep the boundary's holes (by default those holding incidents are filled, as in the CLI)",
                                 value=False, key="keep_holes")
        with st.expander("Column mapping for tables that are not police.uk files"):
            mc = st.columns(4)
            mapping = {k: mc[i % 4].text_input(label, key="map_id" if k == "incident_id" else f"map_{k}")
                       for i, (k, label) in enumerate(COLUMN_LABELS.items())}
            crs = mc[2].selectbox("Coordinates", list(CRS_LABELS), key="map_crs", format_func=CRS_LABELS.get)
        files = [("incidents", f) for f in inc_files or []] + [("referrals", f) for f in ref_files or []]
        files += [("tasks", f) for f in task_files or []] + ([("boundary", boundary_file)] if boundary_file else [])
        if files:
            opts = {"mapping": {k: x for k, x in mapping.items() if x}, "crs": crs, "asb_only": asb_only,
                    "keep_holes": keep_holes, "drop_identifying": drop_ids}
            token = content_token([(kind, f.name, f.getvalue()) for kind, f in files], opts)
            if st.session_state.get("upload_token") != token:
                with st.spinner("Loading your files…"):
                    new_bundle, outcomes = load_uploads(
                        incidents=inc_files or [], referrals=ref_files or [], tasks=task_files or [], boundary=boundary_file,
                        incident_columns=mapping, incident_crs=crs, categories=None if asb_only else "all", keep_holes=keep_holes,
                        drop_identifying=drop_ids,
                        owner=owner, max_bytes=int(st.get_option("server.maxUploadSize")) * 1024 * 1024,  # checked here too
                        current=bundle,  # referrals or tasks alone are added to the data in use
                    )
                st.session_state["upload_token"], st.session_state["upload_outcomes"] = token, outcomes
                st.session_state["upload_failed"] = new_bundle is None
                if new_bundle is not None:
                    st.session_state["bundle"] = st.session_state["uploaded_bundle"] = new_bundle  # kept: "Your files" again
                    st.session_state["data_choice_pending"] = w.UPLOADED
                st.rerun()  # the top of the page says how it went
            shown = [o for o in st.session_state.get("upload_outcomes", ()) if all(o is not r for r in bundle.reports)]
            if shown:  # those of files not in use (the data in use have theirs above)
                st.markdown("**Load reports**")
            for o in shown:
                w.load_report(o, settings.threshold)
            if not inc_files and st.session_state.get("upload_failed"):
                st.info("Add an incidents file to analyse your own data; until then the app keeps the current data.")
        else:  # the boxes emptied: the same files added again are loaded again
            st.session_state.pop("upload_token", None)
            st.session_state.pop("upload_failed", None)
