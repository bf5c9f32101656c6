"""Widgets the app repeats: an error box, download buttons, metric cards, a chart or why it is
empty; and the sidebar's analyst settings (imports Streamlit; ``app.py`` only). What they show is made elsewhere: cards by
:mod:`hotspots.app_support.views`, files by :mod:`hotspots.app_support.downloads`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from .._errors import HotspotsError
from ..gistar import shortest_distance, usable_distance
from .scheme_start import scheme_start_bounds, scheme_start_choice
from .text import CONTROL_LABELS, CONTROL_RANGES, md_text, note_text
from .views import OPTION_HELP, option_label

__all__ = ["show_error", "downloads", "metrics", "chart", "analyst_settings", "scheme_start", "data_selector", "load_report",
           "UPLOADED"]

#: The data selector's choice for the files loaded in the Data tab.
UPLOADED = "uploaded"


def show_error(exc: BaseException) -> None:
    """An error box: our own errors in the app's words (:func:`~hotspots.app_support.text.note_text`), anything else
    named as unexpected."""
    st.error(note_text(str(exc) if isinstance(exc, HotspotsError) else f"Unexpected problem ({type(exc).__name__}): {exc}"))


def data_selector(folders: Mapping[str, Any], load: Callable[[str], Any]) -> None:
    """The sidebar's data selector (only when forces' folders are found): the demo data, each force and, once files are
    loaded in the Data tab, "Your files". Picking one puts ``load(choice)`` in ``st.session_state["bundle"]``.

    It always names the data in use: the Data tab, which comes after it, asks for a choice to be shown with
    ``st.session_state["data_choice_pending"]`` (:data:`UPLOADED` after an upload, ``"demo"`` for the demo data again),
    set here on the next run, before the box is drawn (a box's value cannot be changed once it is on the page).
    """
    ss = st.session_state
    pending = ss.pop("data_choice_pending", None)
    if not folders:
        return
    if pending is not None:
        ss["data_choice"] = ss["data_choice_loaded"] = pending
    names = {"demo": "Synthetic demo data", **{k: f.describe() for k, f in folders.items()}}
    if ss.get("data_choice_loaded") == UPLOADED or ss.get("uploaded_bundle") is not None:
        names[UPLOADED] = "Your files (Data tab)"
    pick = st.sidebar.selectbox("Data", list(names), format_func=names.get, key="data_choice",
                                help="Forces found under the data folder (see data/README.md), the demo data, or your files.")
    if pick != ss.get("data_choice_loaded", "demo"):
        if pick == UPLOADED:  # the files loaded in the Data tab, kept since (``uploaded_bundle``), again
            if ss.get("uploaded_bundle") is not None:
                ss["bundle"], ss["data_choice_loaded"] = ss["uploaded_bundle"], UPLOADED
            return
        try:
            with st.spinner("Loading the force's files…"):
                ss["bundle"] = load(pick)
            ss["data_choice_loaded"] = pick
        except Exception as exc:  # an unreadable folder: an error box, the current data stay
            show_error(exc)


def downloads(items: Sequence[Any]) -> None:
    """A row of download buttons (:class:`hotspots.app_support.Download`); each file is made on click."""
    for col, d in zip(st.columns(len(items)), items):
        col.download_button(d.label, data=d.make, file_name=d.file_name, mime=d.mime, key=d.key, on_click="ignore")


def table(df: Any, *, key: str | None = None, names: Mapping[str, str] | None = None, where: Any = None) -> None:
    """A table on screen (:func:`hotspots.app_support.views.display_frame`), its number columns
    shown with thousands separators and still sorted by value; in ``where`` (a column), else the page."""
    from .views import display_frame, number_formats

    frame = display_frame(df, names)
    numbers = {c: st.column_config.NumberColumn(format=fmt) for c, fmt in number_formats(frame).items()}
    (where or st).dataframe(frame, hide_index=True, key=key, column_config=numbers)


def metrics(items: Sequence[Any]) -> None:
    """A row of cards (label, value, help): :class:`hotspots.app_support.Metric` or :class:`~hotspots.app_support.Card`."""
    for col, m in zip(st.columns(len(items)), items):
        col.metric(m.label, m.value, help=note_text(m.help) if m.help else None)


def chart(make: Callable[[], Any], note: str | None) -> None:
    """A chart, or instead the one line that says why it would be empty (:mod:`hotspots.app_support.charts`' notes)."""
    if note:
        st.caption(note_text(note))
    else:
        st.altair_chart(make(), width="stretch")


def number_box(key: str, default: int, step: int) -> Any:
    """The number box of parameter ``key``, labelled with the range it takes (:data:`~hotspots.app_support.text.CONTROL_RANGES`:
    Streamlit refuses a value typed outside it with a red "!" alone)."""
    lo, hi = CONTROL_RANGES[key]
    return st.number_input(CONTROL_LABELS[key], lo, hi, default, step, key=key)


def _box(slot: Any, label: str, key: str, lo: int, hi: int, step: int, *, default: float, in_use: float | None = None,
         disabled: bool = False, help: str | None = None) -> float:
    """A number box showing ``in_use`` when given (an automatic value, the box greyed out), else
    its own value (``default`` at first) kept at least ``lo``."""
    ss = st.session_state
    ss[key] = int(round(in_use)) if in_use is not None else max(int(ss.get(key, default)), lo)
    return slot.number_input(label, min(lo, ss[key]), max(hi, ss[key]), step=step, key=key, disabled=disabled, help=help)


def scheme_start(months: Sequence[str], defaults: Any, start: Mapping[str, Any],
                 tag: str) -> tuple[str | None, dict, str, str | None]:
    """The sidebar's scheme-start box (the command line's ``--scheme-start``): a date that sets the before and after
    sliders by the command line's rule (:func:`hotspots.app_support.scheme_start.scheme_start_choice`), with a line
    saying how. Returns the scheme start for the settings, the sliders' starting values, their keys' tag and that line
    (None while the data's own scheme start is kept). ``defaults``: the data's settings (``DataBundle.defaults``), whose
    ``scheme_start`` the box starts at and whose ``missing_months`` the line counts out."""
    default = defaults.scheme_start
    lo, hi = scheme_start_bounds(months)
    day = st.date_input("Scheme start", value=default, min_value=lo, max_value=hi, key=f"scheme-{tag}", format="YYYY-MM-DD",
                        help="Sets the before and after periods as the command line's --scheme-start does (up to 12 months "
                             "either side); empty: no scheme start. The period sliders can still be moved.")
    chosen = scheme_start_choice(months, default, start, day, defaults.missing_months or ())
    if chosen.note:
        st.caption(note_text(chosen.note))
    return chosen.scheme_start, chosen.start, f"{tag}{chosen.tag}", chosen.note


def analyst_settings(v: dict, start: Mapping[str, Any], cell_in_use: Callable[[dict], float]) -> Callable[[Any], None]:
    """The sidebar's analyst settings; their values go into ``v`` by widget key.

    A box whose "automatic" tick is on is greyed out and shows the value in use, never a value
    that is not used: the cell size (``cell_in_use(v)``, the cell size the hotspots will use) at
    once, the bandwidth and distance band when the returned function is called with the hotspot
    stage (None when it failed). A distance band shorter than the cells in use is replaced by the
    shortest band Gi* accepts, with a note under the box (:func:`hotspots.gistar.usable_distance`). The DBSCAN radius is
    shown only for DBSCAN (HDBSCAN does not use it).
    """
    ss = st.session_state
    v["auto_cell"] = st.checkbox("Automatic cell size", value=start["auto_cell"], key="auto_cell",
                                 help="The same automatic choice as the command line (announced in the Analyst tab).")
    if v["auto_cell"]:
        try:
            cell = cell_in_use(v)
        except HotspotsError:  # e.g. no incidents in the period: the page's error box says so
            cell = None
        v["cell_size"] = _box(st, CONTROL_LABELS["cell_size"], "cell_size", *CONTROL_RANGES["cell_size"], 50,
                              default=start["cell"], in_use=cell,
                              disabled=True, help="Automatic: the value in use.")
    else:
        cell = v["cell_size"] = _box(st, CONTROL_LABELS["cell_size"], "cell_size", *CONTROL_RANGES["cell_size"], 50,
                                     default=start["cell"])
    v["auto_bw"] = st.checkbox("Automatic bandwidth", value=True, key="auto_bw")
    later = {"bandwidth": st.empty()}
    v["bandwidth_rule"] = st.selectbox("Bandwidth rule", ["arcgis", "sfhotspot"], key="bandwidth_rule", disabled=not v["auto_bw"],
                                       format_func=option_label("bandwidth_rule"), help=OPTION_HELP["bandwidth_rule"])
    v["kernel"] = st.selectbox("Kernel", ["quartic", "gaussian", "epanechnikov"], key="kernel")
    v["auto_dist"] = st.checkbox("Automatic distance band", value=True, key="auto_dist",
                                 help="Incremental spatial autocorrelation (ArcGIS Optimized Hot Spot Analysis's rule).")
    later["distance"], too_short = st.empty(), st.empty()
    shortest = 50 if cell is None else max(50, math.ceil(shortest_distance(cell)))
    boxes = {  # a band under the cell size is let through, replaced by it with a note (a box's minimum is a silent red outline)
        "bandwidth": (CONTROL_LABELS["bandwidth"], *CONTROL_RANGES["bandwidth"], 50, 1000, "The kernel's search radius; a "
                      "bandwidth under the cell size gives a spiky surface of single cells."),
        "distance": (CONTROL_LABELS["distance"], *CONTROL_RANGES["distance"], 50, 750,
                     f"At least the cell size ({shortest:,} m)."),
    }
    for key, auto in (("bandwidth", "auto_bw"), ("distance", "auto_dist")):
        if not v[auto]:  # needed now: the hotspots are computed with it
            label, lo, hi, step, default, why = boxes[key]
            v[key] = _box(later[key], label, key, lo, hi, step, default=default, help=why)
    if not v["auto_dist"] and cell is not None:
        v["distance"], note = usable_distance(v["distance"], cell)
        if note:
            too_short.warning(note_text(note))
    v["alpha"] = st.select_slider("Significance level (alpha)", options=[0.01, 0.05, 0.10], value=0.05, key="alpha")
    v["fdr"] = st.checkbox("False discovery rate control (Benjamini–Hochberg)", value=True, key="fdr")
    v["permutations"] = st.selectbox("Permutations (0 = exact count test)", [0, 99, 199, 499, 999], key="permutations")
    v["seed"] = number_box("seed", 0, 1)
    v["min_confidence"] = st.selectbox("Minimum Gi* confidence for hotspot areas", [None, 0.90, 0.95, 0.99],
                                       key="min_confidence", format_func=option_label("min_confidence"),
                                       help=OPTION_HELP["min_confidence"])
    v["cluster_method"] = st.selectbox("Point clusters", ["dbscan", "hdbscan", "none"], key="cluster_method",
                                       format_func=option_label("cluster_method"), help=OPTION_HELP["cluster_method"])
    if "eps" in ss and v["cluster_method"] != "dbscan":
        ss["eps"] = ss["eps"]  # kept while the box is hidden (HDBSCAN, none)
    v["eps"] = number_box("eps", 150, 10) if v["cluster_method"] == "dbscan" else ss.get("eps", 150)
    v["min_samples"] = number_box("min_samples", 20, 1)
    v["near_m"] = number_box("near_m", 2000, 100)
    day = st.date_input("Referral extract date", value=None, key="as_of", format="YYYY-MM-DD",
                        help="Re-offending follow-up windows that ended by this date are counted. Empty: the first day of "
                             "the month of the latest date in the referral file (the command line's `--as-of`).")
    v["as_of"] = None if day is None else day.isoformat()
    v["snap_m"] = float(st.select_slider("Referral squares (m)", [100, 250, 500, 1000], value=250, key="snap_m",
                                         help="Referral locations are only ever shown as counts per square of this size."))

    def in_use(stage: Any) -> None:
        used = {"bandwidth": lambda: stage.density.bandwidth_m, "distance": lambda: stage.gi.params.get("distance_m")}
        for key, auto in (("bandwidth", "auto_bw"), ("distance", "auto_dist")):
            if v[auto]:
                label, lo, hi, step, default, _ = boxes[key]
                value = None if stage is None else used[key]()
                _box(later[key], label, key, lo, hi, step, default=default, in_use=value, disabled=True,
                     help="Automatic: the value in use." if value is not None else None)

    return in_use


def load_report(o: Any, threshold: int, published: Any = None, text: Any = None) -> None:
    """A file's load outcome (:class:`hotspots.app_support.LoadOutcome`) in the Data tab: its error, cards (rows read, kept,
    dropped; referral rows are people: small counts shown as ``<threshold``, or as ``published``, the analysis's
    protected load report, when given, and ``text`` its notes' counts as published), drop reasons, notes and warnings."""
    from .load_report import dropped_warning
    from .views import report_metrics, report_view

    title = f"{o.kind}: " + ", ".join(o.files)
    if not o.ok:
        st.error(md_text(title) + " — " + note_text(o.error))
        if o.report is None:
            return
    with st.container(border=True):
        st.markdown(f"**{md_text(title)}**")
        if o.report is None:
            st.markdown(f"{o.rows:,} rows")
            return
        r = report_view(o.report, person=o.kind == "referrals", threshold=threshold, published=published, text=text)
        metrics(report_metrics(r))
        if most := dropped_warning(o.kind, o.report, threshold):  # most rows dropped (people: in coarse bands only)
            st.warning(note_text(most))
        if o.report.dropped:
            st.markdown(md_text("Rows " + r.breakdown))  # the command line's wording
            table(r.reasons)
        for n in r.notes:
            st.caption(note_text("Note: " + n))
        for w in r.warnings:
            st.warning(note_text(w))
