"""hotspots.publication: everything person-level one analysis publishes, protected together."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hotspots._errors import ParameterError
from hotspots.disclosure import SECONDARY
from hotspots.report import LoadReport

sys.path.insert(0, str(Path(__file__).parent))
from attack import scheme, scheme_data  # noqa: E402


@pytest.fixture(scope="module")
def pub():
    p, _ = scheme(140, 11, 5, 2, 100.0)
    return p


def test_every_table_shares_one_protection(pub):
    total = pub.kpis["all"].drop(columns=["group"]).iloc[0].tolist()
    for dim, t in pub.kpis.items():
        assert t.drop(columns=[t.columns[0]]).iloc[-1].tolist() == total, dim
    kh = pub.kpis["hotspot"].set_index("hotspot")["referrals"]
    rh = pub.referrals_by_hotspot.set_index("hotspot")["referrals"]
    for h in kh.index:
        assert kh[h] == rh[h]
    assert pub.referrals_summary.set_index("where").loc["All", "referrals"] == total[0]
    # funnel tables: the same referrals and completed counts as the KPI tables
    for dim in pub.funnel:
        f, k = pub.funnel[dim], pub.kpis[dim]
        assert f["referred"].tolist() == k["referrals"].tolist()
        assert f["completed"].tolist() == k["completed"].tolist()


def test_squares_sites_and_flows_add_up_internally(pub):
    led = pub.protection.ledger
    squares = [k for k in led.keys if isinstance(k, tuple) and isinstance(k[0], tuple) and k[0][0] == "square"]
    assert sum(led.value(k) for k in squares) == led.value((("all",), "referrals"))
    # a square of fewer than 5 people is not drawn at all (its place points to them), the rest are
    big = [k for k in squares if led.n_people(led.index(k)) >= 5]
    assert 0 < len(pub.origins) == len(big) < len(squares)
    assert any("referral square of fewer than 5 people is not drawn" in n for n in pub.notes)
    assert set(pub.origins["referrals_shown"]) <= {"<5", "c", "x"} | {str(v) for v in range(5, 500)}
    assert (pub.origins["referrals"].isna() == ~pub.origins["referrals_shown"].str.isdigit()).all()
    assert pub.symbol_counts("origins").tolist() == pub.origins["referrals"].fillna(0).astype(int).tolist()
    assert len(pub.flows) and set(pub.flows["origin_kind"]) <= {"hotspot area", "town"}
    with pytest.raises(ParameterError):
        pub.symbol_counts("squares")


def test_a_view_of_one_group_is_its_published_row(pub):
    g = pub.groups["offence"][0]
    v = pub.view("offence", [g])
    row = pub.kpis["offence"].set_index("offence").loc[g]
    assert v["figures"]["referrals"] == row["referrals"] and v["percents"]["completed_pct"] == row["completed_pct"]
    assert pub.view()["figures"]["referrals"] == pub.kpis["all"].iloc[0]["referrals"]
    # all groups of a dimension = all referrals
    assert pub.view("route", list(pub.groups["route"])) == pub.view()
    with pytest.raises(ParameterError, match="not in the data"):
        pub.view("offence", ["no such offence"])
    with pytest.raises(ParameterError, match="dimension"):
        pub.view("colour", ["red"])


def test_a_view_of_several_groups_shows_only_what_the_tables_determine(pub):
    groups = list(pub.groups["month"])[:3]
    v = pub.view("month", groups)
    led = pub.protection.ledger
    for m, shown in v["figures"].items():
        exact = sum(led.value((("month", g), m)) for g in groups if (("month", g), m) in led)
        if isinstance(shown, (int, np.integer)):
            assert shown == exact
        else:
            assert shown in (SECONDARY, "<5")


def test_filters_on_two_dimensions_hide_everything_with_a_note(pub):
    v = pub.filtered(offence=[pub.groups["offence"][0]], age_group=["youth"])
    assert set(v["figures"].values()) == {SECONDARY} and "one dimension" in v["note"]
    assert pub.filtered() == pub.view()
    assert pub.filtered(hotspot="in hotspots")["figures"]["referrals"] == \
        pub.referrals_summary.set_index("where").loc["in hotspots", "referrals"]
    assert pub.filtered(hotspot="all") == pub.view()


def test_the_load_report_is_protected_against_everything_published(pub):
    n = int(pub.protection.ledger.value((("all",), "referrals")))
    report = LoadReport("referrals.csv", rows_read=n + 3, rows_kept=n, dropped={"no location": 2, "bad date": 1})
    shown = pub.load_report(report)
    assert shown["dropped"] == {"no location": "<5", "bad date": "<5"}
    # read - kept = dropped (3) would give the small total away: something else is hidden
    assert not (str(shown["rows_read"]).isdigit() and str(shown["rows_kept"]).isdigit())
    assert pub.load_report(report) is shown  # built once
    assert pub.kpis["all"].iloc[0]["referrals"] == pub.view()["figures"]["referrals"]  # the rest unchanged
    # the one-line text (the command line's summary) says what parameters.json says, no more
    text = pub.load_report_text(report)
    assert text.startswith(f"referrals.csv: read {shown['rows_read']}") and "no location: <5; bad date: <5" in text
    assert f"dropped {shown['rows_dropped']}" in text and "dropped 3" not in text


def test_data_checks_are_published_protected(pub):
    """Counts of referrals outside the study area, with unknown task ids, dated outside the incident
    months or with implausible contact times: every check present, small counts as '<5'."""
    from hotspots.publication import CHECKS

    assert set(pub.checks) == set(CHECKS)
    for name, v in pub.checks.items():
        assert v == 0 or v in ("<5", SECONDARY) or int(v) >= 5, (name, v)


def test_referrals_dated_outside_the_incident_months_cannot_give_a_month_away():
    """The count dated outside the incidents' months is the sum of those months' KPI rows: with one
    referral left inside, total − that count would give it away, so the protection hides one of them."""
    import pandas as pd

    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    refs, areas, tasks, towns = scheme_data(60, 4, 2, 0.0)
    when = pd.Series(pd.to_datetime("2023-03-15"), index=refs.index) + pd.to_timedelta(np.arange(len(refs)) % 200, unit="D")
    when.iloc[0] = pd.Timestamp("2025-02-10")  # one referral in the incidents' months
    refs = refs.assign(referred_at=when.to_numpy())
    link = link_referrals(refs, areas=areas, tasks=tasks, towns=towns, months=("2025-01", "2025-12"))
    assert link.summary["dated_outside_months"] == len(refs) - 1
    p = publish_scheme(refs, linkage=link, areas=areas, threshold=5, snap_m=250.0)
    total = p.kpis["all"].iloc[0]["referrals"]
    shown = p.checks["dated_outside_months"]
    assert not (str(total).isdigit() and str(shown).isdigit()), (total, shown)


def test_referrals_outside_hotspots_without_a_town_draw_no_flow():
    """With no towns (none in the study area) a referral outside hotspots has no origin: it counts at
    its site but draws no line (the old code drew zero-length lines from a town called 'nan')."""
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    refs, areas, tasks, _ = scheme_data(80, 4, 2, 0.0)
    link = link_referrals(refs, areas=areas, tasks=tasks)  # no towns, no incidents: no town names
    assert link.table["harm_town"].isna().all()
    p = publish_scheme(refs, linkage=link, areas=areas, threshold=5)
    assert set(p.flows["origin_kind"]) == {"hotspot area"} and (p.flows["length_m"] > 0).all()
    assert p.protection.ledger.value(("where", "task_linked")) == int(link.summary["task_linked"])


def test_thresholds_below_3_need_the_unsafe_flag():
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    refs, areas, tasks, towns = scheme_data(30, 2, 1, 0.0)
    link = link_referrals(refs, areas=areas, tasks=tasks, towns=towns)
    with pytest.raises(ParameterError, match="unsafe"):
        publish_scheme(refs, linkage=link, areas=areas, threshold=2)
    p = publish_scheme(refs, linkage=link, areas=areas, threshold=1, unsafe=True)
    assert p.unsafe and p.statement.startswith("UNSAFE")
    assert p.kpis["all"].iloc[0]["referrals"] == 30
    with pytest.raises(ParameterError, match="snap_m"):
        publish_scheme(refs, linkage=link, areas=areas, snap_m=10)


def test_an_analysis_has_one_current_publication():
    from hotspots.publication import scheme_publication

    class Fake:
        def __init__(self, pub_args):
            refs, areas, tasks, towns = pub_args
            from hotspots.linkage import link_referrals

            self.referrals = refs
            self.linkage = link_referrals(refs, areas=areas, tasks=tasks, towns=towns)
            self.areas = type("A", (), {"areas": areas})()
            self.kpis = None
            self.settings = type("S", (), {"threshold": 5})()

    an = Fake(scheme_data(50, 3, 2, 0.0))
    a = scheme_publication(an)
    assert a.snap_m == 250 and scheme_publication(an) is a
    b = scheme_publication(an, snap_m=500)
    assert b.snap_m == 500 and scheme_publication(an) is b  # the last square size asked for is the current one
    assert scheme_publication(an, snap_m=250) is a
    an.referrals = an.referrals.iloc[:0]
    assert scheme_publication(an) is None


def test_a_small_area_withholds_its_own_squares_not_everyones():
    """An area of 4 referrals in 4 squares of one: its squares are its breakdown ("x"), and
    nothing else is withheld for it (every other area's referrals and every other square are
    published or marked by what they are: "<5", "c" or the count)."""
    import geopandas as gpd
    import shapely

    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    refs, areas, tasks, towns = scheme_data(160, 11, 2)
    a1 = areas.geometry.iloc[0]
    inside = refs.geometry.within(a1).to_numpy()
    keep = ~inside
    keep[np.flatnonzero(inside)[:4]] = True
    refs = refs[keep].reset_index(drop=True)
    x0, y0 = a1.bounds[0], a1.bounds[1]
    pts = [shapely.Point(x0 + 250 * (i % 2) + 120, y0 + 250 * (i // 2) + 120) for i in range(4)]  # 4 squares of one
    refs.loc[np.flatnonzero(refs.geometry.within(a1).to_numpy()), "geometry"] = gpd.GeoSeries(pts, crs=refs.crs).values
    link = link_referrals(refs, areas=areas, tasks=tasks, towns=towns)
    pub = publish_scheme(refs, linkage=link, areas=areas, threshold=5, snap_m=250.0)
    by = pub.referrals_by_hotspot.set_index("hotspot")["referrals"].astype(str)
    assert by["1"] == "<5"
    assert by["2"] != "x" and by["outside hotspots"] != "x" and by["All"] != "x"
    # its 4 squares of one person each are "x" in the ledger, and not drawn at all: their places are the disclosure
    squares = [k for k in pub.protection.ledger.keys if isinstance(k[0], tuple) and k[0][0] == "square"]
    assert sum(pub.protection.marker(k) == "x" for k in squares) >= 4
    assert not pub.origins.geometry.centroid.within(a1).any()
    assert (pub.origins["referrals_shown"] != "<5").all()  # no drawn square has fewer than 5 people
    # "x" never stands for the size of a group of 5 or more
    led, prot = pub.protection.ledger, pub.protection
    for k, shown_ in zip(led.keys, led.shown):
        if shown_ and k[1] == "referrals" and prot.state(k) == "withheld":
            assert led.value(k) < 5 or (isinstance(k[0], tuple) and k[0][0] == "square"), k


def test_a_task_site_outside_the_study_area_counts_the_referrals_naming_it():
    """ref_messy.csv names CL09 in Brighton for 2 referrals: its layer showed 0, and
    scheme_checks.task_site_outside_area (a count of referrals) read as a count of sites."""
    import geopandas as gpd
    import shapely

    from hotspots.linkage import link_referrals
    from hotspots.publication import CHECKS, publish_scheme

    refs, areas, tasks, towns = scheme_data(120, 4, 2, 0.0)
    tasks = tasks.copy()
    tasks.loc[tasks.index[0], "geometry"] = shapely.Point(tasks.geometry.iloc[0].x + 200_000, tasks.geometry.iloc[0].y)
    x0, y0, x1, y1 = refs.total_bounds
    study = gpd.GeoDataFrame(geometry=[shapely.box(x0 - 9_000, y0 - 9_000, x1 + 9_000, y1 + 9_000)], crs=27700)
    link = link_referrals(refs, areas=areas, tasks=tasks, towns=towns, study_area=study)
    named = int((refs["task_id"] == "T0").sum())
    assert named >= 5 and link.summary["referrals_to_task_site_outside_area"] == named
    assert link.summary["task_sites_outside_area"] == 1
    p = publish_scheme(refs, linkage=link, areas=areas, threshold=5, snap_m=250.0)
    assert "referrals_to_task_site_outside_area" in CHECKS and "task_site_outside_area" not in p.checks
    site = p.task_sites.set_index("task_id").loc["T0"]
    assert p.protection.ledger.value((("site", "T0"), "referrals")) == named  # not a false 0
    assert site["referrals_shown"] in (str(named), "c", "x")
    check = p.checks["referrals_to_task_site_outside_area"]
    assert check in (named, "c", "x")
    # tied together: the check equals the site's count, so they are protected as one
    assert not (site["referrals_shown"] == str(named) and check in ("c", "x"))


def test_squares_sites_and_flows_are_protected_by_people():
    """One person referred 8 times from one place to one site: the square, the site and the flow each
    hold 8 referrals of one person, so none shows 8."""
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    refs, areas, tasks, towns = scheme_data(140, 11, 2, 0.0)
    refs = refs.copy()
    same = refs.index[:8]
    refs.loc[same, "person_ref"] = "p_aaaaaaaaaaaaaaaa"
    refs.loc[same, "geometry"] = refs.geometry.iloc[0]
    refs.loc[same, "task_id"] = "T1"
    # the site's other referrals go elsewhere: T1 is that person's only
    others = (refs["task_id"] == "T1") & ~refs.index.isin(same)
    refs.loc[others, "task_id"] = "T0"
    link = link_referrals(refs, areas=areas, tasks=tasks, towns=towns)
    p = publish_scheme(refs, linkage=link, areas=areas, threshold=5, snap_m=250.0)
    led = p.protection.ledger
    assert led.value((("site", "T1"), "referrals")) == 8 and p.protection.marker((("site", "T1"), "referrals")) == "x"
    flows = [k for k in led.keys if isinstance(k[0], tuple) and k[0][0] == "flow" and k[0][2] == "T1"]
    assert flows and all(p.protection.marker(k) != 8 for k in flows)
    # that person's line to T1 (one person) is not drawn, whatever its marker: it would show where they went
    assert not (p.flows["task_id"] == "T1").any()
    led_flows = [k for k in led.keys if isinstance(k[0], tuple) and k[0][0] == "flow"]
    assert len(p.flows) == sum(led.n_people(led.index(k)) >= 5 for k in led_flows)
    sq = [k for k in led.keys if isinstance(k[0], tuple) and k[0][0] == "square" and led.value(k) >= 8
          and led.n_people(led.index(k)) < 5]
    assert all(p.protection.marker(k) == "x" for k in sq)
    assert "people" in p.basis and "measured in referrals" not in p.statement
    # without person references: groups are measured in referrals, and every output says so
    q = publish_scheme(refs.drop(columns="person_ref"), linkage=link_referrals(refs.drop(columns="person_ref"), areas=areas,
                       tasks=tasks, towns=towns), areas=areas, threshold=5, snap_m=250.0)
    assert q.protection.marker((("site", "T1"), "referrals")) in (8, "c")
    assert "groups are measured in referrals, not people" in q.statement and q.basis.startswith("referrals")


def test_counts_quoted_in_notes_follow_the_tables_disclosure():
    """Essex's 12 referrals: the Referrals card read "suppressed" and kpis_by_offence.csv "c", but the Scheme caption
    said "12 referral(s) have a re-offending flag but ...": a total the tables hide is printed nowhere else."""
    small, _ = scheme(12, 0, 5, 2, 100.0)
    assert small.kpis["all"].iloc[0]["referrals"] == SECONDARY
    note = "12 referral(s) have a re-offending flag but their 6-month window had not ended by 2025-12-31"
    assert small.text(note) == note.replace("12 referral(s)", "some referral(s)")
    assert small.text("3 referral(s) have a contact time before the referral") .startswith("<5 referral(s)")
    assert small.text("0 referral(s) are late; 99,999 rows were read") == "0 referral(s) are late; 99,999 rows were read"
    assert small.text("no count here") == "no count here"


def test_counts_quoted_in_notes_are_protected_against_everything_published(pub):
    n = int(pub.protection.ledger.value((("all",), "referrals")))
    assert pub.text("3 referral(s) have no location").startswith("<5 referral(s)")
    # all but two: the two (total − count) would be given away, so the count is not printed
    said = pub.text(f"{n - 2} referral(s) have a contact time")
    assert f"{n - 2}" not in said and said.endswith("referral(s) have a contact time")
    assert pub.text(f"{n - 2} referral(s) have a contact time") is said  # worked out once


def test_area_referral_figures_are_the_published_rows(pub):
    from hotspots.area_referrals import AREA_REFERRAL_COLUMNS, area_referral_figures

    by_hot = pub.referrals_by_hotspot.set_index(pub.referrals_by_hotspot["hotspot"].astype(str))
    ids = [h for h in by_hot.index if h.isdigit()][:2] + ["999"]  # 999: an area no referral names
    f = area_referral_figures(pub, ids)
    assert list(f) == list(AREA_REFERRAL_COLUMNS)
    assert f["referrals"] == [by_hot.loc[ids[0], "referrals"], by_hot.loc[ids[1], "referrals"], 0]
    assert f["reparation_local_pct"][:2] == [by_hot.loc[i, "local_pct"] for i in ids[:2]]
    assert f["completed_pct"][2] is None and f["not_reoffended_pct"][2] is None
    assert area_referral_figures(None, ids) == {}


def test_rows_that_are_not_people_are_published_exactly_in_the_load_report(pub):
    """ref_messy.csv: "read c, kept 420, dropped <5 (empty row: <5; duplicate id: <5)": blank rows and exact copies
    are no one, so read = kept + dropped adds up on the published report; people's drops stay protected."""
    n = int(pub.protection.ledger.value((("all",), "referrals")))
    assert isinstance(pub.protection.marker((("all",), "referrals")), int)  # the total is shown: kept can be too
    d = pub.load_report(LoadReport("r.csv", n + 3, n, dropped={"empty row": 2, "duplicate row": 1}))
    assert (d["rows_read"], d["rows_kept"], d["rows_dropped"]) == (n + 3, n, 3)
    assert d["dropped"] == {"empty row": 2, "duplicate row": 1}
    assert pub.load_report_text(LoadReport("r.csv", n + 3, n, dropped={"empty row": 2, "duplicate row": 1})) == (
        f"r.csv: read {n + 3:,}, kept {n:,}, dropped 3 (empty row: 2; duplicate row: 1)")
    # a person's drop (a missing date) stays protected, and so does what it would give away
    e = pub.load_report(LoadReport("s.csv", n + 4, n, dropped={"empty row": 2, "missing date": 2}))
    assert e["dropped"]["empty row"] == 2 and e["dropped"]["missing date"] == "<5"
    assert e["rows_read"] != n + 4 and e["rows_dropped"] in ("<5 + 2", "c + 2", "x + 2")
