"""hotspots.app_support.views: what the app's cards, tables and filters show."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hotspots._errors import ParameterError
from hotspots.app_support import views
from hotspots.periods import month_options
from hotspots.pipeline import Settings, hotspot_stage
from hotspots.report import LoadReport


def _linked(demo):
    from hotspots.linkage import link_referrals

    stage = hotspot_stage(demo.incidents, Settings(cell_size=500.0), demo.study_area)
    return link_referrals(demo.referrals, areas=stage.areas.areas, tasks=demo.tasks).table


def test_filter_referrals_matches_pandas(demo):
    t = _linked(demo)
    out = views.filter_referrals(t, offences=["harassment", "shop theft"], routes=["community resolution"], age_groups=["youth"])
    ref = t[
        t["offence"].isin(["harassment", "shop theft"]) & (t["route"] == "community resolution") & (t["age_group"] == "youth")
    ]
    assert out["referral_id"].tolist() == ref["referral_id"].tolist()
    assert len(views.filter_referrals(t)) == len(t)
    inside = views.filter_referrals(t, hotspot="in hotspots")
    assert len(inside) == int((~t["hotspot"].isin(["outside hotspots", "no location"])).sum())
    one = views.filter_referrals(t, hotspot="1")
    assert len(one) == int((t["hotspot"] == "1").sum()) and len(one) > 0
    with pytest.raises(ParameterError):
        views.filter_referrals(demo.referrals, hotspot="1")  # not linked: no hotspot column


def test_kpi_cards_show_only_suppressed_values(demo):
    from hotspots.kpis import scheme_kpis

    t = _linked(demo)
    full = scheme_kpis(t)
    cards = views.kpi_cards(full)
    assert [c.label for c in cards] == [
        "Referrals",
        "Completed",
        "Not re-offended",
        "Victim satisfied",
        "Contact ≤ 48 h",
        "Booked ≤ 48 h",
    ]
    row = full.table.iloc[-1]
    assert cards[0].value == f"{int(row['referrals']):,}"
    assert cards[1].value == f"{int(row['completed_pct'])} %"
    assert "Base:" in cards[1].help and full.window in cards[2].help
    # each share's base is its denominator: concluded referrals for completion, not the completed
    assert cards[1].help.endswith(f"Base: {int(row['concluded']):,}.") and int(row["concluded"]) != int(row["completed"])
    assert cards[2].help.startswith("Share not re-offending") and f"Base: {int(row['followup_eligible']):,}." in cards[2].help
    # A tiny group: the cards show "<5" / "hidden", never the exact small numbers.
    small = scheme_kpis(t.iloc[:3])
    sc = views.kpi_cards(small)
    assert sc[0].value == "<5" and sc[0].suppressed
    shown_table, mask = small.table.iloc[-1], small.suppressed.iloc[-1]
    for card, col in zip(
        sc, ["referrals", "completed_pct", "not_reoffended_pct", "victim_satisfied_pct", "contacted_48h_pct",
             "contacted_booked_48h_pct"]
    ):
        # Hidden exactly where the disclosure engine's mask says: "c" and "x" read "hidden" (one short word: the
        # Offence filter's cards showed "suppres…" where the Hotspot filter's said "too few" for the same state).
        v = shown_table[col]
        assert card.suppressed == bool(mask[col]) or str(v)[:1] in "<>"
        if card.suppressed and str(v)[:1] not in "<>":
            assert card.value == {"c": "hidden", "x": "hidden"}.get(v, v)
    assert all(c.value != "3" for c in sc)
    with pytest.raises(ParameterError):
        views.kpi_cards(small.table)


def test_display_frame_makes_mixed_columns_text():
    df = pd.DataFrame({"n": [12, "<5", 0], "pct": [50, "c", None], "name": ["a", "b", "c"], "x": [1.5, 2.0, 3.0]})
    out = views.display_frame(df)
    assert out["N"].tolist() == ["12", "<5", "0"] and out["Pct"].tolist() == ["50", "c", "–"]
    assert out["X"].tolist() == [1.5, 2.0, 3.0] and out["X"].dtype == float  # numbers stay numbers: sorted by value
    pa.Table.from_pandas(out)  # Streamlit's Arrow conversion works
    assert "n" in df and df["n"].tolist()[0] == 12  # the caller's frame is unchanged


def test_display_frame_labels_columns_and_rounds_numbers():
    # What a tester saw: area_m2 28194899.9584, a fraction as 0.3725, 10525 without a separator,
    # True and None in cells, code names as headers and values.
    df = pd.DataFrame({
        "n_points": [10525, 5446],
        "area_m2": [28194899.9584, 661539.0],
        "share_of_incidents_in_hot": [0.3725, 0.05],
        "hot_area_km2": [30.9375, 2.5],
        "with_task_site": [1267, None],
        "refused_pct": [14.25, 3.0],
        "distance_rule": ["fallback_sqrt2", "given"],
        "single_point": [True, False],
        "outcome_not_recorded": [0, 3],
    })
    out = views.display_frame(df)
    assert list(out.columns) == [
        "Incidents", "Area (km²)", "Incidents in hot cells (%)", "Hot area (km²)", "With a task site", "Refused (%)",
        "Distance rule", "Single point", "Outcome not recorded",
    ]
    # numbers stay numbers (sorting sorts by value; the screen adds thousands separators), rounded
    assert out["Incidents"].tolist() == [10525, 5446] and str(out["Incidents"].dtype) == "Int64"
    assert out["Area (km²)"].tolist() == [28.2, 0.7]
    assert out["Incidents in hot cells (%)"].tolist() == [37.2, 5.0]
    assert out["With a task site"].tolist()[0] == 1267 and out["With a task site"].isna().tolist() == [False, True]
    assert out.sort_values("Incidents")["Incidents"].tolist() == [5446, 10525]
    assert out["Distance rule"].tolist() == ["cell size × √2 (no clear peak)", "given"]
    assert out["Single point"].tolist() == ["yes", "no"]
    assert views.column_label("median_hours_to_contact") == "Median hours to contact"
    assert views.column_label("n_cells") == "Cells" and views.column_label("n_widgets") == "Number of widgets"


def test_report_rows_and_jaccard_frame():
    rep = LoadReport("a.csv", 10, 6, dropped={"no location": 3, "duplicate id": 1}, examples={"no location": ["a.csv:row 2"]})
    rows = views.report_rows(rep)
    assert rows.to_dict("records") == [
        {"reason": "no location", "rows": 3, "examples": "a.csv:row 2"},
        {"reason": "duplicate id", "rows": 1, "examples": ""},
    ]

    class R:
        table = pd.DataFrame({"cell_size_m": [200.0, 400.0], "distance_m": [500.0, 1000.0]})
        jaccard = np.array([[1.0, 0.25], [0.25, 1.0]])

    jf = views.jaccard_frame(R())
    assert list(jf.index) == ["200 m / 500 m", "400 m / 1,000 m"] and jf.iloc[0, 1] == 0.25


def test_card_is_a_plain_record():
    card = views.Card("Referrals", "<5", "help", True)
    assert card.suppressed and card.value == "<5"


def test_url_defaults_take_only_valid_values():
    months = month_options("2022-01", "2025-03")
    defaults = {"period": ("2022-01", "2025-03"), "before": ("2022-07", "2023-06"), "after": ("2023-07", "2024-06")}
    got = views.url_defaults({"period": "2023-04:2024-03", "cell": "300"}, months, defaults)
    assert got == {**defaults, "period": ("2023-04", "2024-03"), "cell": 300, "auto_cell": False, "warning": None}
    bad = {"period": "2024-03:2023-04", "before": "2021-01:2022-01", "after": "<script>", "cell": "33"}
    out = views.url_defaults(bad, months, defaults)
    assert {k: x for k, x in out.items() if k != "warning"} == {**defaults, "cell": 250, "auto_cell": True}
    assert all(f"{k}={bad[k]}" in out["warning"] for k in bad)  # each value not used is named
    listed = views.url_defaults({"period": ["2023-01:2023-02"], "cell": ["abc"]}, months, defaults)
    assert listed["period"] == ("2023-01", "2023-02") and "cell=abc" in listed["warning"]
    for cell in ("5", "-100"):  # were ignored without a word
        assert f"cell={cell} (whole metres" in views.url_defaults({"cell": cell}, months, defaults)["warning"]


def test_app_settings_from_widget_values():
    months = month_options("2022-01", "2025-03")
    defaults = Settings(before=("2022-07", "2023-06"), after=("2023-07", "2024-06"))
    # Every widget at its default: the defaults themselves (automatic cell size, bandwidth, distance).
    widgets = {
        "auto_cell": True,
        "cell_size": 250,
        "auto_bw": True,
        "bandwidth": 1000,
        "auto_dist": True,
        "distance": 750,
        "period": ("2022-01", "2025-03"),
        "before": ("2022-07", "2023-06"),
        "after": ("2023-07", "2024-06"),
        "alpha": 0.05,
        "fdr": True,
        "permutations": 0,
        "seed": 0,
        "min_confidence": None,  # the widget's default: hotspot areas follow alpha
        "cluster_method": "dbscan",
        "eps": 150,
        "min_samples": 20,
        "near_m": 2000,
        "kernel": "quartic",
        "bandwidth_rule": "arcgis",
        "same_months": False,
    }
    assert views.app_settings(widgets, months, defaults) == defaults
    changed = {**widgets, "auto_cell": False, "auto_dist": False, "period": ("2023-01", "2023-12"), "seed": 7}
    given = views.app_settings(changed, months, defaults)
    assert (given.cell_size, given.distance, given.bandwidth, given.period, given.seed) == (
        250.0,
        750.0,
        None,
        ("2023-01", "2023-12"),
        7,
    )
    assert isinstance(given.eps, float) and isinstance(given.min_samples, int)
    assert views.app_settings({**widgets, "min_confidence": 0.9}, months, defaults).min_confidence == 0.9


def test_funnel_bars_and_cards_of_protected_views(demo):
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    stage = hotspot_stage(demo.incidents, Settings(cell_size=500.0), demo.study_area)
    link = link_referrals(demo.referrals, areas=stage.areas.areas, tasks=demo.tasks)
    pub = publish_scheme(demo.referrals, linkage=link, areas=stage.areas.areas)
    for view in (pub.filtered(), pub.filtered(age_group=["youth"]), pub.filtered(offence=["harassment"], route=["ABC"])):
        bars = views.funnel_bars(view)
        assert bars["stage"].tolist() == list(views.FUNNEL_STAGES)
        for _, row in bars.iterrows():
            v = view["figures"]["referrals" if row["stage"] == "referred" else row["stage"]]
            if isinstance(v, str):  # hidden: no bar, the marker shown
                assert np.isnan(row["referrals"]) and row["shown"] in (v, "hidden")
            else:
                assert row["referrals"] == v and row["shown"] == f"{v:,}"
        cards = views.view_cards(view, pub.window)
        assert cards[0].value == bars["shown"].iloc[0] and cards[0].suppressed == bool(np.isnan(bars["referrals"].iloc[0]))
    # Two dimensions at once: every figure hidden, never a number.
    both = pub.filtered(offence=["harassment"], route=["ABC"])
    assert bars["referrals"].isna().all() and both["note"]
    with pytest.raises(ParameterError):
        views.funnel_bars(pub.kpis["offence"])


def test_no_booking_times_show_not_recorded_in_cards_and_funnel(demo):
    """A referral file whose booking column is blank: the booked stage and the contacted-and-booked card read
    "not recorded" (no bar, no "0 %"); the 48-hour contact card still shows its rate."""
    from hotspots.kpis import NOT_RECORDED
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    stage = hotspot_stage(demo.incidents, Settings(cell_size=500.0), demo.study_area)
    refs = demo.referrals.assign(task_booked_at=pd.NaT)
    link = link_referrals(refs, areas=stage.areas.areas, tasks=demo.tasks)
    pub = publish_scheme(refs, linkage=link, areas=stage.areas.areas)
    assert "booked" in pub.not_recorded and "contacted_48h" not in pub.not_recorded
    for view in (pub.filtered(), pub.filtered(age_group=["youth"])):
        bars = views.funnel_bars(view).set_index("stage")
        assert bars.loc["booked", "shown"] == NOT_RECORDED and np.isnan(bars.loc["booked", "referrals"])
        cards = {c.label: c for c in views.view_cards(view, pub.window)}
        assert cards["Booked ≤ 48 h"].value == NOT_RECORDED
        assert not cards["Booked ≤ 48 h"].suppressed
        assert cards["Contact ≤ 48 h"].value not in (NOT_RECORDED, "0 %")
    assert (pub.kpis["offence"]["contacted_booked_48h_pct"] == NOT_RECORDED).all()
    assert (pub.funnel["all"]["booked"] == NOT_RECORDED).all()

def test_headline_and_change_metrics(demo):
    from hotspots.pipeline import area_change, cell_change
    from hotspots.summaries import headline, hotspot_change

    s = demo.defaults.replace(cell_size=500.0)
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    res, _ = area_change(demo.incidents, stage, s)
    h, ch = headline(stage), hotspot_change(res)
    cards = views.headline_metrics(h, ch)
    labels = ["Incidents analysed", "Hotspot areas", "Incidents in hotspots", "Hotspot area", "Cell size",
              "Raw change"]
    assert [m.label for m in cards] == labels
    assert cards[0].value == f"{len(stage.incidents):,}" and cards[4].value == "500 m" and cards[5].value == ch.text()
    # counts with the days they were counted over: the % is a rate per day of data, not a change of counts
    assert f"{ch.before:,} in the {ch.before_days:,.0f} days of data before → {ch.after:,} in the {ch.after_days:,.0f} after" in (
        cards[5].help
    )
    assert "incidents per day of data" in cards[5].help and "incident rate" not in cards[5].help
    # the plain change is not the tested one: the card says so, and points to the pooled row
    assert "not tested" in cards[5].help and '"all hotspot areas"' in cards[5].help
    assert views.headline_metrics(h, None, "why not")[5] == views.Metric("Raw change", "–", "why not")
    assert "every month of the data" in cards[0].help  # no hotspot period: all incidents
    # a hotspot period: the card counts its incidents only (Essex Jul-Dec: 7,361 of 14,541), and says so
    part = hotspot_stage(demo.incidents, s.replace(period=("2023-01", "2023-06")), demo.study_area)
    card = views.headline_metrics(headline(part), None)[0]
    assert card.value == f"{len(part.incidents):,}" and len(part.incidents) < len(stage.incidents)
    assert "the hotspot period, Jan 2023 – Jun 2023 (the Hotspot period slider), in the study area's cells" in card.help
    assert "not every incident loaded" in card.help and "in the study area's cells" in cards[0].help
    cells, _ = cell_change(demo.incidents, stage.grid, s)
    m = views.change_metrics(cells)
    assert [x.label for x in m] == ["Before (study area)", "After (study area)", "Cells with a significant fall",
                                    "Cells with a significant rise"]  # no second "change in hotspots" beside the pooled table
    assert m[0].value == f"{int(cells.table['n_before'].sum()):,}" and "study area's cells" in m[0].help
    assert m[2].value == f"{int(cells.summary()['significant fall']):,}"


def test_gi_class_counts_and_settings_used(demo):
    s = Settings(cell_size=1000.0)
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    counts = views.gi_class_counts(stage.gi, stage.grid)
    assert counts["cells"].sum() == stage.grid.n_cells
    classes, n = np.unique(np.asarray(stage.gi.classes)[stage.grid.active], return_counts=True)
    assert dict(zip(counts["class"], counts["cells"])) == dict(zip(classes, n))
    used = views.settings_used(stage, s).set_index("setting")["value"]
    assert used["cell size (m)"] == "1,000" and used["cells in study area"] == f"{stage.grid.n_cells:,}"
    assert used["distance band (m)"] == f"{stage.gi.params['distance_m']:,.0f}"
    assert used["Gi* test"] == "exact count test, two-sided"  # in words, not "p_exact (...)"
    assert used["hotspot areas"] == "cells significant at alpha 0.05"  # "(95% confide" was cut off in the app
    assert used.str.len().max() <= 40
    at95 = views.settings_used(hotspot_stage(demo.incidents, s.replace(min_confidence=0.95), demo.study_area), s)
    assert at95.set_index("setting")["value"]["hotspot areas"] == "cells at 95% confidence or more"
    # the cell size as the card shows it ("5,000 m", not "5000 m"); referral squares only said with referral data
    assert "1,000 m cells." in views.method_caption(stage, s) and "with FDR" in views.method_caption(stage, s)
    assert "Referral" not in views.method_caption(stage, s)
    assert "counts per square (1–4 as <5)" in views.method_caption(stage, s, referrals=True)
    assert "rings (dashed)" in views.change_map_caption(500) and "rings" not in views.change_map_caption(0)
    # The hotspot areas' rule as used: at the default settings, the cells significant at alpha.
    assert "hotspot areas: cells significant at alpha 0.05 (95% confidence)" in views.method_caption(stage, s)


def test_emerging_view_is_the_librarys_categories_and_reading(demo):
    from hotspots.emerging_summary import category_counts, describe_emerging
    from hotspots.pipeline import emerging_stage

    stage = hotspot_stage(demo.incidents, Settings(cell_size=1000.0), demo.study_area)
    trends, _ = emerging_stage(demo.incidents, stage, Settings(cell_size=1000.0))
    frame, caption = views.emerging_view(trends)
    want = category_counts(trends)
    assert frame["Pattern"].tolist() == want["category"].tolist()
    assert frame["Cells"].tolist() == [f"{n:,}" for n in want["cells"]]
    assert describe_emerging(trends) in caption and "Mann–Kendall" in caption
    # the shares' base is said, and it is the cells that take part (the stage's grid, its margin left out)
    n = int(stage.grid.active.sum())
    assert int(want["cells"].sum()) == n and f"of the {n:,} study-area cells that take part" in caption
    share = frame[f"Share of the {n:,} cells analysed"]
    assert share.tolist() == [f"{100 * c / n:.1f} %" for c in want["cells"]]
    assert views.emerging_view(None, "emerging hot spots not computed: the data hold 6 month(s)") == (
        None, "emerging hot spots not computed: the data hold 6 month(s)"
    )


def test_briefing_layers_the_data_can_draw():
    every = list(views.BRIEFING_LAYERS)
    assert views.briefing_layers(True, 12) == every and "emerging" in every
    assert views.briefing_layers(False, 10) == [k for k in every if k != "scheme"]
    assert views.briefing_layers(True, 9) == [k for k in every if k != "emerging"]
    assert views.briefing_layers(True, 12, change=False) == [k for k in every if k != "change"]


def test_before_after_is_withheld_with_the_reason_whenever_the_change_is_not_computed(demo):
    """A before period holding no month of the data (one stray row's 2020-2022) gives no cell change: the image and the
    change map are withheld with the library's reason, as for refused periods; computed, nothing is withheld."""
    from hotspots.pipeline import CHANGE_NOT_COMPUTED, cell_change

    s = Settings(cell_size=1000.0, period=("2023-01", "2023-12"))
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    empty = s.replace(before=("2019-01", "2019-12"), after=("2023-01", "2023-12"))
    cells, note = cell_change(demo.incidents, stage.grid, empty)
    assert cells is None and note.startswith(CHANGE_NOT_COMPUTED)
    said = views.before_after_withheld(None, cells, note)
    assert said == f"No before/after image or change map to download: {note}"
    backwards = s.replace(before=("2024-01", "2024-06"), after=("2022-07", "2022-12"))
    refused = views.periods_refused(backwards)
    assert refused and views.before_after_withheld(refused, None, None).endswith(f"{CHANGE_NOT_COMPUTED}: {refused}")
    ok = s.replace(before=("2022-01", "2022-12"), after=("2023-01", "2023-12"))
    assert views.before_after_withheld(None, *cell_change(demo.incidents, stage.grid, ok)) is None
    # one month of data: that is the reason, not an overlap of the periods the user never chose
    one = s.replace(before=("2025-03", "2025-03"), after=("2025-03", "2025-03"))
    assert "overlap" in views.periods_refused(one)
    assert views.periods_refused(one, ["2025-03"]) == "the data cover a single month (2025-03); two periods cannot be compared."


def test_change_summary_table_shows_the_three_scopes_as_text():
    from hotspots.change import Period
    from hotspots.change_summary import ChangeSummary, ScopeChange

    rows = (
        ScopeChange("all hotspot areas", 0.8234, 0.7111, 0.9499, 0.0081, "significant fall", 100, 80, 0.2, 0.1),
        ScopeChange("elsewhere", 0.97, 0.9, 1.05, 0.41, "no significant change", 1000, 970, 0.06, 0.02),
        ScopeChange("hotspots vs elsewhere", 0.85, 0.72, 0.99, 0.00001, "significant fall", 100, 80, 0.25, 0.1),
    )
    b, a = Period.from_months("2023-01", "2023-06"), Period.from_months("2023-07", "2023-12")
    notes = ("a note", "or use whole years", "month-to-month variation (it cancels there)")
    t = views.change_summary_table(ChangeSummary(rows, 0.05, b, a, "method", notes=notes, left_out=((2023 * 12 + 7, "no data"),)))
    # the after period's month without data is named where the figures are read
    # changes are of incidents per day: the periods' days are said (no counted days given: the periods')
    assert t.caption.startswith("Incidents per day after / before (after: Jul 2023 – Dec 2023 (5 of 6 months counted; "
                                "left out: Aug 2023, no data) vs before: Jan 2023 – Jun 2023; changes compare incidents "
                                "per day, as the periods differ in length (181 and 184 days)); ")
    assert t.frame.columns.tolist() == ["Scope", "Rate ratio", "95 % CI", "p-value", "Verdict"]
    assert t.frame.to_numpy().tolist() == [
        ["all hotspot areas", "0.82", "0.71–0.95", "0.008", "significant fall"],
        ["elsewhere", "0.97", "0.90–1.05", "0.410", "no significant change"],
        ["hotspots vs elsewhere", "0.85", "0.72–0.99", "< 0.001", "significant fall"],
    ]
    assert t.lines[0] == "all hotspot areas: rate ratio 0.82 (95 % CI 0.71–0.95), p = 0.008, significant fall"
    # "No significant change" comes with the smallest fall the data could detect, and the notes follow.
    assert "elsewhere 6%" in t.caption and "all hotspot areas 20%" not in t.caption
    # why the pooled row can differ from the Raw change card (Avon and Somerset: +14.7 % raw, pooled 1.02)
    assert '"All hotspot areas" pools each area\'s own change' in t.caption and "the Raw change card" in t.caption
    # each note its own sentence (they were run together: "…or use whole years month-to-month variation…")
    assert t.caption.endswith(". A note. Or use whole years. Month-to-month variation (it cancels there).")
    # Staffordshire, hotspots chosen from the after period: "hotspots vs elsewhere" 1.21, p = 0.016 read
    # "significant rise" with the caveat only in the caption; the verdict cell carries it, and the
    # smallest detectable fall of that row is no longer dropped
    from hotspots.change_summary import with_selection

    rise = ScopeChange("hotspots vs elsewhere", 1.21, 1.04, 1.41, 0.016, "significant rise", 100, 120, 0.25, 0.1)
    chosen = with_selection(ChangeSummary((*rows[:2], rise), 0.05, b, a, "method"), a)
    rt = views.change_summary_table(chosen)
    assert rt.frame["Verdict"].tolist()[2] == "significant rise (expected from how hotspots were chosen)"
    assert "Smallest falls these data could detect (80 % power): elsewhere 6%, hotspots vs elsewhere 25%." in rt.caption
    # Without a summary: no rows, the reason, and the interval named by alpha.
    empty = views.change_summary_table(None, "no hotspot areas", alpha=0.1)
    assert len(empty.frame) == 0 and "90 % CI" in empty.frame.columns and "no hotspot areas" in empty.caption
    assert t.warnings == () and empty.warnings == ()  # 6 months either side: nothing to warn of
    # Cleveland: before = Jan 2025 only: the tab warns loudly (a period under 3 months) before the table
    short = views.change_summary_table(ChangeSummary(rows, 0.05, Period.from_months("2025-01", "2025-01"),
                                                     Period.from_months("2025-02", "2025-12"), "method"))
    assert len(short.warnings) == 1 and short.warnings[0].startswith("Short period: the before period is 1 month (Jan 2025")


def test_periods_help_names_a_scheme_start_only_when_one_is_known():
    from hotspots.app_support import periods_help

    assert "scheme start (2023-07-01)" in periods_help(Settings(scheme_start="2023-07-01"))
    plain = periods_help(Settings())
    assert "no scheme start given" in plain and "2023" not in plain
    # periods that do not straddle the start are said not to be a before/after of the scheme
    late = periods_help(Settings(scheme_start="2026-03-01", before=("2025-01", "2025-06"), after=("2025-07", "2025-12")))
    assert "Note: Both periods are before the scheme start (2026-03-01): not a before/after comparison" in late
    ok = periods_help(Settings(scheme_start="2025-07-01", before=("2025-01", "2025-06"), after=("2025-07", "2025-12")))
    assert "Note:" not in ok


def test_hotspots_with_one_place_name_are_told_apart():
    # Demo areas 7 and 19 were both "Albert Street, Derby"; the Scheme tab's filter listed "hotspot 1…21".
    t = pd.DataFrame({"area_id": [7, 19, 3], "place": ["Albert Street, Derby", "Albert Street, Derby", "Mill Lane, Derby"]})
    assert views.hotspot_names(t) == {"7": "7 · Albert Street, Derby", "19": "19 · Albert Street, Derby",
                                      "3": "3 · Mill Lane, Derby"}
    assert views.hotspot_names(t[["area_id"]]) == {"7": "hotspot 7", "19": "hotspot 19", "3": "hotspot 3"}
    assert views.display_frame(t)["Place"].tolist() == [
        "Albert Street, Derby (hotspot 7)", "Albert Street, Derby (hotspot 19)", "Mill Lane, Derby"
    ]
    assert t["place"].tolist()[0] == "Albert Street, Derby"  # the library's label is unchanged
    kb = pd.DataFrame({"hotspot": ["7", "outside hotspots"], "referrals": [12, 30]})
    assert views.display_frame(kb, views.hotspot_names(t))["Hotspot"].tolist() == ["7 · Albert Street, Derby", "outside hotspots"]


def test_short_title_follows_the_categories_analysed():
    """The sidebar's heading: "ASB hotspots" only for anti-social behaviour (it stayed so for all crime)."""
    one = pd.DataFrame({"category": ["Anti-social behaviour"] * 2})
    assert views.short_title(one) == "ASB hotspots"
    assert views.short_title(pd.DataFrame({"category": ["Burglary"]})) == "Burglary hotspots"
    assert views.short_title(pd.DataFrame({"category": ["Burglary", "Anti-social behaviour"]})) == "Incident hotspots"


def test_index_toggle_is_offered_only_with_a_baseline():
    """The Scheme tab's index toggle is greyed out, with the reason, without a scheme start or months before it."""
    from hotspots.summaries import MonthlySeries

    months = pd.date_range("2023-01-01", periods=4, freq="MS")
    table = pd.DataFrame({"month": months, "in_hotspots": [3, 4, 5, 6], "elsewhere": [1] * 4})
    assert "needs a scheme start" in views.index_unavailable(MonthlySeries(table, None))
    assert "January 2023" in views.index_unavailable(MonthlySeries(table, pd.Timestamp("2023-01-01").date()))
    assert views.index_unavailable(MonthlySeries(table, pd.Timestamp("2023-03-01").date())) is None


def test_no_areas_text_names_the_permutations_when_they_are_the_cause():
    """With FDR over many cells, few permutations cannot reach any class: the Map tab says so (it advised a larger
    cell size), naming the control; otherwise the general advice."""
    from hotspots.app_support import demo_bundle

    d = demo_bundle(0)
    few = hotspot_stage(d.incidents, Settings(cell_size=250.0, permutations=99), d.study_area)
    assert few.areas.n_areas == 0 and few.gi.params["classes_offered"] == []
    text = views.no_areas_text(few)
    assert "99 permutations" in text and f"{few.gi.params['n_cells']:,} cells" in text
    assert '"Permutations (0 = exact count test)" to 0' in text and "inference" not in text
    no_fdr = hotspot_stage(d.incidents, Settings(cell_size=250.0, permutations=99, fdr=False), d.study_area)
    assert views.no_areas_text(no_fdr) == views.NO_AREAS  # the permutations reach 95 %: not the cause
    # cold cells on empty ground reached every class, hot ones 90 % at most (Gwent's ASB, 999 permutations):
    # the hot side is the cause, and the Map tab says so
    note = "with 99 permutations and FDR over 1 cells the 99%, 95% class(es) cannot be reached by hot spots (...)"
    gi = dataclasses.replace(few.gi, params={**few.gi.params, "classes_offered": [0.99, 0.95, 0.90],
                                             "hot_classes_offered": [0.90]}, notes=(note,))
    text = views.no_areas_text(dataclasses.replace(few, gi=gi))
    assert "no hot cell can reach 95% confidence" in text and "99 permutations" in text


def test_period_coverage_text_warns_of_a_month_published_in_part():
    """A hotspot period holding a month published in part (Hampshire's August 2025: 430 incidents) is said above the map."""
    from hotspots.app_support import demo_bundle

    inc = demo_bundle(0).incidents
    part = inc["month"] == "2023-03-01"
    thin = inc[~part | (np.arange(len(inc)) % 10 == 0)]
    n = int((thin["month"] == "2023-03-01").sum())
    months = month_options("2022-01", "2024-12")
    s = Settings(missing_months=("2023-03",))
    text = views.period_coverage_text(thin, s.replace(period=("2023-03", "2023-03")), months)
    assert text and f"Mar 2023 holds {n:,} incidents" in text and "published in part" in text
    assert views.period_coverage_text(thin, s, months) == text  # the whole data hold it too
    assert views.period_coverage_text(thin, s.replace(period=("2023-04", "2023-06")), months) is None
    assert views.period_coverage_text(thin, Settings(), months) is None
    # the Before/after tab's: over the before and after periods, whatever the hotspot period (Lincolnshire without June:
    # the warning was on every tab but that one)
    ba = s.replace(period=("2023-04", "2023-06"), before=("2022-01", "2023-02"), after=("2023-03", "2024-12"))
    said = views.period_coverage_text(thin, ba, months, change=True)
    assert said and said.startswith("The before and after periods hold") and f"Mar 2023 holds {n:,} incidents" in said
    assert "leaves those months out of each period's exposure" in said
    later = ba.replace(before=("2023-04", "2023-12"), after=("2024-01", "2024-12"))
    assert views.period_coverage_text(thin, later, months, change=True) is None


def test_period_coverage_text_names_a_forces_missing_file_not_a_month_published_in_part():
    """Surrey + Sussex with Surrey's August file left out: the Map tab said "published in part"."""
    months = pd.date_range("2025-01-01", "2025-12-01", freq="MS")
    surrey = pd.DataFrame({"month": np.repeat(months[months != "2025-08-01"], 900), "force": "Surrey Police"})
    sussex = pd.DataFrame({"month": np.repeat(months, 300), "force": "Sussex Police"})
    inc = pd.concat([surrey, sussex], ignore_index=True)
    text = views.period_coverage_text(inc, Settings(missing_months=("2025-08",)), month_options("2025-01", "2025-12"))
    assert "Aug 2025 has no incidents of Surrey Police while the other forces' files cover it" in text
    assert "published in part" not in text
    # without the forces the month is one published in part, as before
    plain = views.period_coverage_text(inc.drop(columns="force"), Settings(missing_months=("2025-08",)),
                                       month_options("2025-01", "2025-12"))
    assert "Aug 2025 holds 300 incidents" in plain and "published in part" in plain


def test_period_coverage_text_lists_a_long_run_of_empty_months_as_one_range():
    """69 months without data (a stray 2019 row given as missing months) read as one range, not 69 names."""
    from hotspots.app_support import demo_bundle

    inc = demo_bundle(0).incidents
    gone = tuple(f"{y}-{m:02d}" for y in range(2016, 2022) for m in range(1, 13))[3:]  # Apr 2016 - Dec 2021: 69 months
    s = Settings(missing_months=gone, period=("2016-03", "2024-12"))
    text = views.period_coverage_text(inc, s, month_options("2016-03", "2024-12"))
    assert "Apr 2016 – Dec 2021 (69 months) hold no incidents (no data published)" in text
    assert "May 2016" not in text and text.count("holds no incidents") == 0


def test_stability_sweep_holds_the_analysis_own_settings_at_first():
    """The sweep's first runs hold the analysis's own cell size and distance band (707 m on 500 m cells: 1.41, not only
    2 and 3), so its "cells hot in ≥ 80 % of runs" speaks of the map beside it; its table says the band in words."""
    from hotspots.app_support import demo_bundle
    from hotspots.robustness import stability

    d = demo_bundle(0)
    stage = hotspot_stage(d.incidents, Settings(cell_size=500.0), d.study_area)
    ch = views.stability_choices(stage)
    own = stage.gi.params["distance_m"] / 500.0
    assert 500 in ch.size_default and own in ch.mult_default and ch.own == own
    assert ch.mult_label(own).endswith("(as analysed)") and ch.mult_label(2.0) == "2"
    res = stability(d.incidents, cell_sizes=[500], distance_multipliers=[own], mask=d.study_area, seed=0)
    assert res.table["distance_m"].iloc[0] == pytest.approx(stage.gi.params["distance_m"])
    assert int(res.table["n_hot_cells"].iloc[0]) == int((stage.gi.hot & stage.grid.active).sum())
    rows = views.stability_rows(res)
    assert "distance_rule" not in rows.columns and rows["distance_times_cell"].iloc[0] == round(own, 2)
    assert rows["distance_m"].iloc[0] == round(stage.gi.params["distance_m"])  # whole metres, as the heat map's labels
    assert "Distance band (× cell size)" in views.display_frame(rows).columns


def test_settings_in_words_not_code_names():
    """The select boxes show words (their values stay the library's); "Settings used" names the Gi* test in words."""
    from hotspots.app_support import demo_bundle

    assert views.option_label("bandwidth_rule")("arcgis") == "ArcGIS's rule"
    assert "Kernel Density" in views.OPTION_HELP["bandwidth_rule"]
    assert views.option_label("cluster_method")("none") == "None" and "DBSCAN" in views.option_label("cluster_method")("dbscan")
    assert views.option_label("min_confidence")(None) == "Any significant cell"  # was cut to "Same as the significanc"
    # every choice fits the sidebar's select box whole, and its box's help explains the short words
    assert all(len(w) <= views.OPTION_LABEL_MAX for words in views.OPTION_LABELS.values() for w in words.values())
    assert set(views.OPTION_HELP) == set(views.OPTION_LABELS)
    assert views.option_label("min_confidence")(0.95) == "95%" and views.option_label("kernel")("quartic") == "quartic"
    d = demo_bundle(0)
    s = Settings(cell_size=1000.0)
    used = views.settings_used(hotspot_stage(d.incidents, s, d.study_area), s).set_index("setting")["value"]
    assert used["Gi* test"] == "exact count test, two-sided" and "p_" not in " ".join(used)


def test_the_referral_files_report_shows_what_the_analysis_publishes():
    """The Data tab shows the referral file in use as parameters.json does: read, kept, dropped and
    each reason, protected with every other count of people ("<5", "c"), not "–" with no reasons."""
    report = LoadReport("referrals.csv", rows_read=301, rows_kept=271, dropped={"missing date": 1, "unparseable date": 1,
                                                                               "no location": 28})
    published = {"source": "referrals.csv", "rows_read": 301, "rows_kept": 271, "rows_dropped": 30,
                 "dropped": {"missing date": "<5", "unparseable date": "<5", "no location": 28}}
    v = views.report_view(report, person=True, published=published)
    assert (v.rows_read, v.rows_kept, v.rows_dropped) == ("301", "271", "30")
    assert dict(zip(v.reasons["reason"], v.reasons["rows"])) == {"no location": "28", "missing date": "<5",
                                                                  "unparseable date": "<5"}
    assert "<5" in v.help
    # its warnings quote counts: each as the analysis publishes it (SchemePublication.text), a hidden total never
    warned = LoadReport("referrals.csv", rows_read=12, rows_kept=12, warnings=["12 referral(s) have `contacted_at` before"])
    hidden = {"source": "referrals.csv", "rows_read": "c", "rows_kept": "c", "rows_dropped": 0, "dropped": {}}
    v = views.report_view(warned, person=True, published=hidden, text=lambda t: t.replace("12 referral", "some referral"))
    assert v.warnings == ("some referral(s) have `contacted_at` before",) and (v.rows_read, v.rows_kept) == ("c", "c")


def test_number_formats_keep_a_columns_decimals_on_every_row():
    frame = pd.DataFrame({"share": [0.0, 9.0, 1.7], "km2": [0.25, 1.5, 3.0], "n": [1200, 5, 0], "odd": [1 / 3, 0.5, 2.0],
                          "text": ["a", "b", "c"], "nan": [np.nan, 2.0, 3.0]})
    assert views.number_formats(frame) == {"share": "%.1f", "km2": "%.2f", "n": "localized", "odd": "%.3f",
                                           "nan": "localized"}


def test_the_data_tab_words_the_drops_as_the_command_line_does_with_small_counts_protected():
    report = LoadReport("ref.csv", rows_read=324, rows_kept=310, dropped={"empty row": 1, "no location": 10, "duplicate row": 3})
    assert views.report_view(report).breakdown == "dropped 14 (no location: 10; duplicate row: 3; empty row: 1)"
    person = views.report_view(report, person=True).breakdown
    assert person.startswith("dropped ") and "no location: 10" in person and "empty row: <5" in person
    assert ": 1)" not in person and ": 3;" not in person


def test_the_data_tab_warns_when_most_of_a_file_was_dropped_as_the_command_line_does():
    from hotspots.app_support.load_report import APP_CHECK, dropped_warning
    from hotspots.io import dropped_share_text

    refs = LoadReport("ref.csv", rows_read=60, rows_kept=18, dropped={"no location": 40, "missing date": 2})
    text = dropped_warning("referrals", refs, 5)
    assert text == dropped_share_text(refs, kind="referrals", threshold=5, check=APP_CHECK)  # the library's one rule
    assert text.startswith("more than half of the referral file's rows were dropped (mostly: no location)")
    assert not any(str(n) in text for n in (40, 42, 18, 60, 70))  # people: a band, no count
    incidents = LoadReport("inc.csv", rows_read=100, rows_kept=30, dropped={"no location": 70})
    assert dropped_warning("incidents", incidents, 5).startswith("70 % of the incident rows were dropped (no location: 70)")
    clean = LoadReport("ref.csv", rows_read=60, rows_kept=60)
    assert dropped_warning("referrals", clean, 5) == "" and dropped_warning("boundary", incidents) == ""
    assert dropped_warning("referrals", None) == ""
