"""The Streamlit app's logic, driven headless with ``streamlit.testing.v1.AppTest``.

Every expected number comes from the library called directly (the app must show what the
library computes); nothing here is a hard-coded result of our own code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

pytest.importorskip("streamlit.testing.v1")
from helpers import police_csv  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from hotspots.app_support import column_label, demo_bundle, md_text, note_text  # noqa: E402
from hotspots.cli import build_parser  # noqa: E402
from hotspots.commands.analyse import load_inputs, run_analysis  # noqa: E402
from hotspots.io import Upload, load_police_uk  # noqa: E402
from hotspots.pipeline import Settings, area_change, cell_change, hotspot_stage  # noqa: E402
from hotspots.style import km2_text  # noqa: E402
from hotspots.summaries import hotspot_change  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 300  # seconds per run: the first one computes the analysis on a shared 2-core machine
# The app's defaults (see app.py): everything as Settings (the cell size automatic, as on the
# command line); the before/after periods chosen from the data: 12 months either side of the
# scheme start.
DEFAULTS = Settings(before=("2022-07", "2023-06"), after=("2023-07", "2024-06"))
# Street-scale cells, as the app starts with ?cell=250 in its address.
STREET = DEFAULTS.replace(cell_size=250.0)


@pytest.fixture(scope="module")
def demo():
    return demo_bundle(0)


def run_app(cell: int | None = 250) -> AppTest:
    """The app on the demo data; ``cell`` sets the cell size through the address (None: automatic)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if cell is not None:
        at.query_params["cell"] = str(cell)
    at.run()
    check(at)
    return at


def check(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return values[0]


def open_tab(at: AppTest, name: str) -> None:
    at.session_state["view"] = name
    at.run()


# =============================================================================== smoke
def test_app_and_cli_agree_on_the_demo_with_default_settings(demo):
    # `hotspots analyse --demo` and the app opened without settings: the same cell size, the same
    # hotspot areas, the same change in hotspots.
    args = build_parser().parse_args(["analyse", "--demo", "--out", "unused"])
    cli = run_analysis(args, load_inputs(args, lambda s: None), lambda step, f: None)
    at = run_app(cell=None)
    assert demo.defaults == cli.settings and at.checkbox(key="auto_cell").value is True
    assert metric(at, "Cell size") == f"{cli.grid.cell_size:,.0f} m"
    assert metric(at, "Hotspot areas") == f"{cli.areas.n_areas:,}"
    km2 = float(cli.areas.areas["area_km2"].sum()) if cli.areas.n_areas else 0.0
    assert metric(at, "Hotspot area") == km2_text(km2)
    assert metric(at, "Raw change") == hotspot_change(cli.change_areas).text()
    # The Before/after tab shows the pooled change first: the CLI's summary, as text.
    open_tab(at, "Before / after")
    check(at)
    first = at.tabs[1].dataframe[0].value
    # then the rings around the hotspot areas against the rest beyond them (displacement)
    rows = cli.change_summary.rows + cli.displacement.summary.rows
    assert first["Scope"].tolist() == [r.scope for r in rows]
    assert first["Rate ratio"].tolist() == [f"{r.rate_ratio:.2f}" for r in rows]
    assert first["Verdict"].tolist() == [r.verdict for r in rows]
    # The table per hotspot area: each area's change, its ring's and its pattern, as the CLI's
    # csv/hotspot_areas.csv has them.
    from hotspots.export import area_summary

    per_area = next(df.value for df in at.tabs[1].dataframe if column_label("ring_change_class") in df.value.columns)
    want = area_summary(cli).set_index("area_id").loc[per_area[column_label("area_id")].astype(int)]
    for col in ("change_class", "ring_change_class", "emerging"):
        assert per_area[column_label(col)].tolist() == want[col].tolist(), col
    # the place, two areas by one street told apart by their id
    assert [p.split(" (hotspot ")[0] for p in per_area[column_label("place")]] == want["place"].tolist()
    assert want["emerging"].notna().all() and want["ring_change_class"].notna().any()


def test_app_runs_on_demo_data(demo):
    at = run_app()
    stage = hotspot_stage(demo.incidents, STREET, demo.study_area)
    # the incidents analysed: those in the study area's cells (the command line's figure), not every one loaded
    assert metric(at, "Incidents analysed") == f"{len(stage.incidents):,}"
    p = stage.counts.params
    assert len(stage.incidents) + p["points_outside_area"] + p["points_off_grid"] == len(demo.incidents) > len(stage.incidents)
    assert metric(at, "Hotspot areas") == f"{stage.areas.n_areas:,}"
    assert metric(at, "Incidents in hotspots") == f"{stage.hot_share:.1%}"
    assert metric(at, "Cell size") == "250 m"
    assert [t.label for t in at.tabs] == ["Map", "Before / after", "Scheme", "Analyst", "Data"]
    # The data are the demo's, said so in the sidebar; the map tab has its downloads.
    assert any("demo" in c.value for c in at.sidebar.caption)
    assert {b.label for b in at.get("download_button")} >= {"Hotspot areas (GeoJSON)", "Hotspot areas (CSV)"}
    for view in ("Before / after", "Scheme", "Analyst", "Data"):
        open_tab(at, view)
        check(at)


def test_area_table_shows_referral_figures_only_when_asked_for(demo):
    # A parameter change redraws the map without protecting the scheme's figures (seconds): the
    # areas table below the map adds them when the toggle is on.
    at = run_app()
    plain = at.dataframe[0].value  # the areas table (the only table of the map tab)
    assert "Referrals" not in plain.columns and "Incidents" in plain.columns
    at.toggle(key="area_referrals").set_value(True).run()
    check(at)
    full = at.dataframe[0].value
    assert "Referrals" in full.columns and set(plain.columns) < set(full.columns)
    assert len(full) == len(plain) == hotspot_stage(demo.incidents, STREET, demo.study_area).areas.n_areas


# =============================================================================== settings change the numbers
def test_cell_size_changes_the_numbers(demo):
    s500 = STREET.replace(cell_size=500.0)
    n250 = hotspot_stage(demo.incidents, STREET, demo.study_area).areas
    n500 = hotspot_stage(demo.incidents, s500, demo.study_area).areas
    km2 = lambda a: km2_text(float(a.areas["area_km2"].sum()))  # noqa: E731
    assert km2(n250) != km2(n500)  # the check below can fail
    at = run_app()
    assert metric(at, "Hotspot area") == km2(n250)
    at.number_input(key="cell_size").set_value(500).run()
    check(at)
    assert metric(at, "Cell size") == "500 m"
    assert metric(at, "Hotspot areas") == f"{n500.n_areas:,}"
    assert metric(at, "Hotspot area") == km2(n500)


def test_before_after_period_changes_the_numbers(demo):
    stage = hotspot_stage(demo.incidents, STREET, demo.study_area)
    new = STREET.replace(before=("2022-01", "2022-12"))
    old_summary = hotspot_change(area_change(demo.incidents, stage, STREET)[0]).text()
    new_summary = hotspot_change(area_change(demo.incidents, stage, new)[0]).text()
    assert old_summary != new_summary
    at = run_app()
    assert metric(at, "Raw change") == old_summary
    at.select_slider(key="before-demo-0").set_range("2022-01", "2022-12").run()
    check(at)
    assert metric(at, "Raw change") == new_summary
    # The before/after tab shows the per-cell totals of the new periods.
    open_tab(at, "Before / after")
    check(at)
    cells, _ = cell_change(demo.incidents, stage.grid, new)
    assert metric(at, "Before (study area)") == f"{int(cells.table['n_before'].sum()):,}"
    assert metric(at, "After (study area)") == f"{int(cells.table['n_after'].sum()):,}"
    summ = cells.summary()
    assert metric(at, "Cells with a significant fall") == f"{int(summ['significant fall']):,}"
    assert not any("Short period" in w.value for w in at.warning)
    # a before period of one month: the tab warns loudly (the change is mostly chance and season)
    at.select_slider(key="before-demo-0").set_range("2022-06", "2022-06").run()
    open_tab(at, "Before / after")
    check(at)
    assert any("Short period" in w.value and "1 month" in w.value for w in at.warning), [w.value for w in at.warning]


def test_before_after_tab_shows_the_emerging_hot_spots(demo):
    from hotspots.emerging_summary import category_counts, describe_emerging
    from hotspots.pipeline import emerging_stage

    at = run_app()
    open_tab(at, "Before / after")
    check(at)
    trends, _ = emerging_stage(demo.incidents, hotspot_stage(demo.incidents, STREET, demo.study_area), STREET)
    table = next(df.value for df in at.tabs[1].dataframe if "Pattern" in df.value.columns)
    assert table["Pattern"].tolist() == category_counts(trends)["category"].tolist()
    assert any(md_text(describe_emerging(trends)) in cap.value for cap in at.tabs[1].caption)


def test_displacement_ring_width_reaches_the_before_after_table(demo):
    at = run_app()
    open_tab(at, "Before / after")
    scopes = at.tabs[1].dataframe[0].value["Scope"].tolist()
    assert scopes[-2:] == ["rings around hotspot areas", "rings vs beyond"]
    assert any("within 500 m of each hotspot area" in c.value for c in at.tabs[1].caption)
    at.number_input(key="ring_m").set_value(1000).run()
    check(at)
    assert any("within 1,000 m of each hotspot area" in c.value for c in at.tabs[1].caption)
    # 0: no displacement rows
    at.number_input(key="ring_m").set_value(0).run()
    check(at)
    assert at.tabs[1].dataframe[0].value["Scope"].tolist() == scopes[:3]


# =============================================================================== analyst panel
ANALYST_KEYS = [
    "auto_cell",
    "cell_size",
    "auto_bw",
    "bandwidth",
    "bandwidth_rule",
    "kernel",
    "auto_dist",
    "distance",
    "alpha",
    "fdr",
    "permutations",
    "seed",
    "min_confidence",
    "cluster_method",
    "eps",
    "min_samples",
    "near_m",
    "snap_m",  # part of the scheme's protected publication (tables and map alike), so not a map-only option
]
# The map's display options sit above the map (in its fragment: changing one reruns the map only).
MAP_KEYS = ["basemap", "show_clusters", "show_origins", "show_flows"]


def test_analyst_controls_exist_and_automatic_choices_are_shown(demo):
    at = run_app()
    keys = {
        w.key
        for w in at.sidebar.get("number_input")
        + at.sidebar.get("checkbox")
        + at.sidebar.get("selectbox")
        + at.sidebar.get("select_slider")
    }
    missing = [k for k in ANALYST_KEYS if k not in keys]
    assert not missing, missing
    main = {w.key for w in at.main.get("selectbox") + at.main.get("select_slider") + at.main.get("toggle")}
    assert set(MAP_KEYS) <= main and not set(MAP_KEYS) & keys
    assert at.selectbox(key="kernel").options == ["quartic", "gaussian", "epanechnikov"]
    assert at.selectbox(key="cluster_method").options == ["DBSCAN (one radius)", "HDBSCAN (no radius)", "None"]  # words
    open_tab(at, "Analyst")
    check(at)
    stage = hotspot_stage(demo.incidents, STREET, demo.study_area)
    shown = [m.value for m in at.markdown]
    for note in demo.prepared.notes + stage.notes:  # e.g. the study area, the automatic bandwidth and distance band
        assert "- " + note_text(note) in shown  # in the app's words
    assert any("bandwidth set to" in n for n in stage.notes)


def test_distance_band_shorter_than_the_cells_is_replaced_and_said(demo):
    # 100 m with 200 m cells blanked the page behind an error; then a box minimum refused it with a red outline only (no
    # words, the band in use unchanged). Now the cell size is used instead, and a note under the box says so and why.
    at = run_app(cell=200)
    at.checkbox(key="auto_dist").uncheck().run()  # the distance box is enabled once "automatic" is off
    at.number_input(key="distance").set_value(100).run()
    check(at)
    said = [x.value for x in at.sidebar.warning]
    assert any(note_text("distance band 100 m is shorter than the cell size (200 m)") in x
               and note_text("200 m (the cell size") in x for x in said), said
    open_tab(at, "Map")
    assert any(md_text("Gi* distance 200 m (4 neighbouring cells)") in x.value for x in at.caption)  # the band in use
    at.number_input(key="distance").set_value(300).run()  # long enough: used as typed, no note
    check(at)
    assert not any("shorter than the cell size" in x.value for x in at.sidebar.warning)
    at.number_input(key="cell_size").set_value(500).run()  # larger cells: 300 m is now too short, and said so
    check(at)
    assert any(note_text("distance band 300 m is shorter than the cell size (500 m)") in x.value for x in at.sidebar.warning)


def test_greyed_out_boxes_show_the_values_in_use(demo):
    stage = hotspot_stage(demo.incidents, DEFAULTS, demo.study_area)
    at = run_app(cell=None)
    shown = {k: at.number_input(key=k) for k in ("cell_size", "bandwidth", "distance")}
    assert all(b.disabled for b in shown.values())
    assert shown["cell_size"].value == round(stage.grid.cell_size)
    assert shown["bandwidth"].value == round(stage.density.bandwidth_m)
    assert shown["distance"].value == round(stage.gi.params["distance_m"])


def test_library_messages_name_the_apps_controls():
    from hotspots.app_support import CONTROL_LABELS

    at = run_app()
    labels = {w.label for kind in ("number_input", "checkbox", "selectbox", "select_slider") for w in at.sidebar.get(kind)}
    assert set(CONTROL_LABELS.values()) - {"Coordinates"} <= labels  # each named control exists, by that label
    # 1 or 50,000 typed into "Cell size" showed a red "!" alone: each number box's label says the range it takes
    from hotspots.app_support.text import CONTROL_RANGES

    boxes = {b.key: b for b in at.sidebar.number_input if b.key in CONTROL_RANGES and not b.disabled}
    assert {"cell_size", "ring_m", "seed", "eps", "min_samples", "near_m"} <= set(boxes)
    for key, box in boxes.items():
        lo, hi = CONTROL_RANGES[key]
        assert (float(box.min), float(box.max)) == (lo, hi) and f"{lo:,}–{hi:,})" in box.label, key
    assert boxes["cell_size"].label == "Cell size (m, 50–5,000)"
    slider = {s.label: s for s in at.sidebar.select_slider}
    slider["Before period"].set_value(("2022-07", "2022-08"))
    slider["After period"].set_value(("2023-01", "2023-02"))
    at.checkbox(key="same_months").check().run()  # periods sharing no calendar month
    check(at)
    why = next(m.help for m in at.metric if m.label == "Raw change")  # the note: why no change
    assert "Compare the same calendar months only" in why and "same\\_months" not in why and "same_months" not in why


def test_address_values_not_used_are_said_and_hdbscan_has_no_radius():
    at = run_app(cell=5)
    assert any(md_text("cell=5 (whole metres") in w.value for w in at.sidebar.warning)
    assert at.checkbox(key="auto_cell").value is True
    at.selectbox(key="cluster_method").set_value("hdbscan").run()
    check(at)
    assert "eps" not in {w.key for w in at.sidebar.number_input}  # HDBSCAN has no radius
    at.selectbox(key="cluster_method").set_value("dbscan").run()
    assert at.number_input(key="eps").value == 150


def test_stability_sweep_offers_the_cell_size_analysed():
    at = run_app(cell=None)
    open_tab(at, "Analyst")
    used = round(float(metric(at, "Cell size").removesuffix(" m").replace(",", "")))
    assert used in at.multiselect(key="stab_sizes").value


# =============================================================================== scheme panel
def test_kpi_cards_show_the_suppressed_values(demo):
    """The Scheme tab's cards are the protected publication's figures (the same as the exports)."""
    from hotspots.app_support import view_cards
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    stage = hotspot_stage(demo.incidents, STREET, demo.study_area)
    link = link_referrals(demo.referrals, areas=stage.areas.areas, tasks=demo.tasks)
    pub = publish_scheme(demo.referrals, linkage=link, areas=stage.areas.areas)
    linked = link.table
    at = run_app()
    open_tab(at, "Scheme")
    check(at)
    expected = view_cards(pub.filtered(), pub.window)
    for card in expected:
        assert metric(at, card.label) == card.value
    # A hotspot with few referrals: its size is "<5" (or withheld) and nothing else of it is shown.
    counts = linked["hotspot"].value_counts()
    small = [h for h, n in counts.items() if h.isdigit() and 0 < n < 5]
    assert small, "the demo has a hotspot with 1-4 referrals at 250 m cells"
    at.selectbox(key="f_hotspot").set_value(small[0]).run()
    check(at)
    cards = view_cards(pub.filtered(hotspot=small[0]), pub.window)
    assert cards[0].value in ("<5", "hidden") and all(c.value in ("hidden", "–") for c in cards[1:])
    for card in cards:
        assert metric(at, card.label) == card.value
    raw_n = str(int(counts[small[0]]))
    assert metric(at, "Referrals") != raw_n


# =============================================================================== uploads
def test_upload_police_uk_csv_shows_its_load_report_and_is_analysed(demo):
    inc = demo.incidents
    centre = shapely.Point(435_300, 336_300)
    sel = (inc.geometry.distance(centre) < 5_000) & (inc["month"] >= "2023-01-01") & (inc["month"] < "2024-07-01")
    data = police_csv(inc[sel].iloc[:3000], bad_rows=4)
    _, ref = load_police_uk(Upload("2023-derby-street.csv", data), categories="Anti-social behaviour")
    at = run_app()
    open_tab(at, "Data")
    at.file_uploader(key="up_incidents").set_value(("2023-derby-street.csv", data, "text/csv")).run()
    check(at)
    assert any("Your files" in c.value for c in at.sidebar.caption)
    assert metric(at, "Incidents analysed") == f"{ref.rows_kept:,}"
    assert metric(at, "Rows read") == f"{ref.rows_read:,}"
    assert metric(at, "Rows kept") == f"{ref.rows_kept:,}"
    assert metric(at, "Rows dropped") == f"{ref.rows_dropped:,}" == "4"
    assert [m.label for m in at.metric].count("Rows read") == 1  # the load report once, not twice
    # The drop reason is listed.
    assert any("no location" in df.value["Reason"].tolist() for df in at.dataframe if "Reason" in df.value.columns)


def test_bad_upload_shows_an_error_box():
    at = run_app()
    open_tab(at, "Data")
    at.file_uploader(key="up_incidents").set_value(
        ("![x](http://evil.example/x.png).csv", b"\x00\x01 not a table", "text/csv")
    ).run()
    assert not at.exception
    assert at.error
    msg = at.error[0].value
    assert "incidents" in msg and "\\!\\[x\\]" in msg  # the file name is shown as text, not as an image
    # said at the top of the page (the title, cards and map still show the demo), and in the Data tab
    assert msg.startswith("Your incidents file") and "still shows the earlier data" in msg and len(at.error) >= 2
    assert any("demo" in c.value for c in at.sidebar.caption)  # the app keeps the demo data


def test_stability_sweep_shows_the_jaccard_overlap(demo):
    from hotspots.robustness import stability

    ref = stability(
        demo.incidents, cell_sizes=[500, 1000], distance_multipliers=[2.0], mask=demo.study_area, alpha=0.05, fdr=True, seed=0
    )
    at = run_app()
    open_tab(at, "Analyst")
    at.multiselect(key="stab_sizes").set_value([500, 1000])
    at.multiselect(key="stab_mults").set_value([2.0])
    at.button(key="stab_run").click().run()
    check(at)
    assert metric(at, "Mean Jaccard overlap") == f"{ref.mean_jaccard:.2f}"
    assert metric(at, "500 m cells hot in ≥ 80 % of runs") == f"{int(ref.robust_cells(0.8).sum()):,}"  # the finest run's cells
    assert any(note_text("Run for every month, alpha 0.05 with FDR, beside the analysis at 250 m cells") in x.value
               for x in at.caption)
    assert not any("Out of date" in x.value for x in at.warning)
    at.number_input(key="cell_size").set_value(500).run()  # Essex: the sweep stayed, as if run for the new cells
    check(at)
    stale = [x.value for x in at.warning if "Out of date" in x.value]
    assert stale and note_text("(cell size 250 m → 500 m") in stale[0]
    assert metric(at, "Mean Jaccard overlap") == f"{ref.mean_jaccard:.2f}"  # still its own runs, marked out of date
    tables = [df.value for df in at.dataframe if "Hot cells" in df.value.columns]  # labelled, numbers sortable
    assert tables and tables[0]["Hot cells"].tolist() == ref.table["n_hot_cells"].tolist()
    np.testing.assert_allclose(tables[0]["Incidents in hot cells (%)"].to_numpy(dtype=float),
                               100 * ref.table["share_of_incidents_in_hot"].to_numpy(), atol=0.051)


def test_scheme_start_sets_the_periods_as_the_command_line_does(demo):
    import datetime as dt

    from hotspots.periods import default_periods

    at = run_app()
    box = at.sidebar.date_input[0]
    assert box.label == "Scheme start" and box.value == dt.date.fromisoformat(demo.defaults.scheme_start)  # the demo's own
    box.set_value(dt.date(2023, 1, 1)).run()
    check(at)
    cli = default_periods(*at.sidebar.select_slider[0].options[::len(at.sidebar.select_slider[0].options) - 1], "2023-01-01")
    slider = {s.label: s for s in at.sidebar.select_slider}
    assert slider["Before period"].value == cli.before and slider["After period"].value == cli.after
    assert any(note_text("scheme start (2023-01-01)") in x.value for x in at.sidebar.caption)
    open_tab(at, "Analyst")  # the notes say the periods the scheme start chose, not the data's own
    said = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert any(note_text("scheme start (2023-01-01)") in x for x in said)
    assert not any(note_text(f"scheme start ({demo.defaults.scheme_start})") in x for x in said)
    open_tab(at, "Data")  # the Data tab's "Data in use" too (it said the data's own periods)
    data = [x.value for x in at.caption]
    assert any(note_text("scheme start (2023-01-01)") in x for x in data)
    assert not any(note_text(f"scheme start ({demo.defaults.scheme_start})") in x for x in data)


def test_point_clusters_on_the_map_and_in_the_analyst_tab(demo):
    from hotspots.app_support import cached as c
    from hotspots.clustering import clusters

    # the clusters of the incidents analysed (in the study area's cells), as the command line's (with every widget at
    # its default the app's settings are the bundle's defaults; run_app sets 250 m cells)
    bundle = c.demo_data(0)
    analysed = c.stage(bundle, bundle.defaults.replace(cell_size=250.0).only(*c.HOT)).incidents
    assert len(analysed) < len(bundle.incidents)  # the demo's incidents beyond the Derbyshire outline are not analysed
    ref = clusters(analysed, "dbscan", eps=150.0, min_samples=20, seed=0)
    at = run_app()
    at.toggle(key="show_clusters").set_value(True).run()
    check(at)
    open_tab(at, "Analyst")
    check(at)
    assert f"**Point clusters (DBSCAN)**: {ref.n_clusters:,} clusters" in [m.value for m in at.markdown]


def test_an_after_period_before_the_before_period_is_refused_with_the_swap():
    at = run_app()
    slider = {s.label: s for s in at.sidebar.select_slider}
    slider["Before period"].set_value(("2024-01", "2024-06"))
    slider["After period"].set_value(("2022-07", "2022-12")).run()
    check(at)
    open_tab(at, "Before / after")
    said = " ".join(w.value for w in at.warning)
    assert md_text("comes before the before period (Jan 2024 – Jun 2024)") in said
    assert md_text('swap them: "Before period" 2022-07:2022-12 and "After period" 2024-01:2024-06.') in said
    assert not at.dataframe or all(d.key != "change_summary" for d in at.dataframe)  # no backwards verdict
    # said beside the period controls too, and no before/after image is offered (it failed on click)
    assert any("comes before the before period" in w.value for w in at.sidebar.warning)
    from hotspots.app_support import export_downloads

    keys = [d.key for d in export_downloads(lambda: None, layer="density", basemap="none", snap_m=250, before_after=False)]
    assert "dl_brief_ba" not in keys and "dl_brief" in keys


def test_sidebar_names_the_data_in_use_after_an_upload(demo, tmp_path, monkeypatch):
    """With forces' folders found, the sidebar's data selector follows an upload ("Your files", not the demo it read
    before); its heading follows the categories analysed ("Incident hotspots" for all crime)."""
    inc = demo.incidents
    sel = (inc["month"] >= "2023-01-01") & (inc["month"] < "2023-04-01")
    folder = tmp_path / "police_uk" / "derbyshire"
    folder.mkdir(parents=True)
    (folder / "2023-01-derbyshire-street.csv").write_bytes(police_csv(inc[sel].iloc[:500]))
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path))
    at = run_app()
    assert at.selectbox(key="data_choice").value == "demo" and at.sidebar.header[0].value == "ASB hotspots"
    open_tab(at, "Data")
    data = police_csv(inc[sel].iloc[:3000]).replace(b"Anti-social behaviour", b"Burglary", 200)
    at.checkbox(key="asb_only").set_value(False)
    at.file_uploader(key="up_incidents").set_value(("2023-derby-street.csv", data, "text/csv")).run()
    check(at)
    assert at.selectbox(key="data_choice").value == "uploaded"
    assert at.title[0].value.startswith("Incident hotspots") and at.sidebar.header[0].value == "Incident hotspots"
    open_tab(at, "Scheme")  # police.uk files have no scheme start: no index is offered, and the help says why
    index = at.toggle(key="monthly_index")
    assert index.disabled and "scheme start" in index.help
    at.selectbox(key="data_choice").set_value("demo").run()
    check(at)
    assert at.sidebar.header[0].value == "ASB hotspots"
    # the uploaded files are kept: "Your files" again analyses them (it once loaded the demo data silently)
    assert "Your files (Data tab)" in at.selectbox(key="data_choice").options
    at.selectbox(key="data_choice").set_value("uploaded").run()
    check(at)
    assert at.sidebar.header[0].value == "Incident hotspots" and metric(at, "Incidents analysed") == "3,000"


def test_map_tab_says_when_the_permutations_leave_no_hotspot_areas():
    at = run_app()
    at.selectbox(key="permutations").set_value(99).run()
    check(at)
    assert metric(at, "Hotspot areas") == "0"
    control = md_text('"Permutations (0 = exact count test)" to 0')  # the cause and its control, not "a larger cell size"
    assert any("99 permutations" in i.value and control in i.value for i in at.info)


def test_select_boxes_and_settings_used_show_words_not_code_names():
    at = run_app()
    shown = {o for s in at.sidebar.selectbox for o in s.options}
    assert not shown & {"arcgis", "sfhotspot", "dbscan", "hdbscan", "none", "1 − alpha"}
    assert at.selectbox(key="cluster_method").value == "dbscan"  # the values stay the library's
    open_tab(at, "Analyst")
    used = next(df.value for df in at.dataframe if "Setting" in df.value.columns).set_index("Setting")["Value"]
    assert used["Gi* test"] == "exact count test, two-sided"


def test_use_the_demo_data_again_with_the_files_still_in_the_boxes(demo):
    """'Use the demo data again' analyses the demo though the uploaded files stay in their box (they were loaded again
    at once); the box emptied and the same file added again, it is analysed again."""
    inc = demo.incidents
    sel = (inc["month"] >= "2023-01-01") & (inc["month"] < "2023-04-01")
    data = police_csv(inc[sel].iloc[:3000])
    at = run_app()
    open_tab(at, "Data")
    at.file_uploader(key="up_incidents").set_value(("x.csv", data, "text/csv")).run()
    assert metric(at, "Incidents analysed") == "3,000"
    at.button(key="use_demo").click().run()
    check(at)
    analysed = hotspot_stage(demo.incidents, STREET, demo.study_area).incidents  # in the study area's cells
    assert metric(at, "Incidents analysed") == f"{len(analysed):,}"
    assert any("demo" in c.value for c in at.sidebar.caption)
    at.file_uploader(key="up_incidents").set_value([]).run()
    at.file_uploader(key="up_incidents").set_value(("x.csv", data, "text/csv")).run()
    check(at)
    assert metric(at, "Incidents analysed") == "3,000"


def test_no_before_after_image_is_offered_when_a_period_holds_no_month_of_data(demo):
    """Data with a year missing (2022 and 2024) and a before period inside the gap: the change is not computed, so the Map
    tab offers no before/after image (its button once did nothing on click) and says why; the other files stay."""
    inc = demo.incidents
    keep = (inc["month"] < "2023-01-01") | (inc["month"] >= "2024-01-01")
    at = run_app()
    open_tab(at, "Data")
    at.file_uploader(key="up_incidents").set_value(("gap-street.csv", police_csv(inc[keep]), "text/csv")).run()
    check(at)
    slider = {s.label: s for s in at.sidebar.select_slider}
    slider["Before period"].set_value(("2023-01", "2023-06"))
    slider["After period"].set_value(("2024-01", "2024-06")).run()
    check(at)
    open_tab(at, "Map")
    labels = {b.label for b in at.get("download_button")}
    assert "Briefing map (PNG)" in labels and "All layers (GeoPackage)" in labels
    assert not {"Before / after (PNG)", "Before / after (PDF)"} & labels
    said = " ".join(c.value for c in at.caption)
    assert md_text("No before/after image or change map to download: before/after change not computed: the before period")\
        in said
    assert "change" not in at.selectbox(key="brief_layer").options


def test_a_referrals_file_added_after_the_incidents_is_used_at_once(demo, demo_files):
    """Essex (tester): incidents loaded, the boxes emptied (another tab was opened), then a referrals file added alone:
    its load report showed, the Scheme tab still said "No referral data". It is now added to the data in use."""
    inc = demo.incidents
    sel = (inc["month"] >= "2023-01-01") & (inc["month"] < "2024-01-01")
    at = run_app()
    open_tab(at, "Data")
    at.file_uploader(key="up_incidents").set_value(("2023-derby-street.csv", police_csv(inc[sel].iloc[:3000]), "text/csv")).run()
    check(at)
    first = at.session_state["bundle"]
    assert first.referrals is None
    at.file_uploader(key="up_incidents").set_value(None)  # the boxes come back empty after another tab
    at.file_uploader(key="up_referrals").set_value(("refs.csv", demo_files["referrals"].read_bytes(), "text/csv")).run()
    check(at)
    now = at.session_state["bundle"]
    assert now.referrals is not None and len(now.incidents) == len(first.incidents) == 3000
    assert not any("Add an incidents file" in i.value for i in at.info)
