"""Tests for hotspots.kpis (scheme KPIs, funnel, suppression)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspots._errors import ParameterError, SchemaError
from hotspots.disclosure import WITHHELD
from hotspots.kpis import (
    _KPI_COUNTS,
    _KPI_IMPLIED,
    _KPI_ROW_RELATIONS,
    KPI_PCTS,
    NOT_RECORDED,
    SECONDARY,
    TOTAL_LABEL,
    KPITable,
    monthly_referrals,
    referral_funnel,
    scheme_kpis,
)
from hotspots.privacy import SUPPRESSED

# ----------------------------------------------------------------------------- a hand-checkable frame
# (id, referred_at, offence, contact h, booked h, outcome, reoffended, victim_satisfied, first_time_entrant)
ROWS = [
    ("h1", "2024-06-01 10:00", "harassment", 5, 20, "completed", False, True, True),
    ("h2", "2024-06-10 10:00", "harassment", 30, 47, "completed", False, True, True),
    ("h3", "2024-07-01 10:00", "harassment", 50, 60, "completed", True, None, False),
    ("h4", "2024-08-15 10:00", "harassment", 10, None, "completed", False, True, True),
    ("h5", "2024-09-30 00:00", "harassment", 2, 3, "refused", None, False, False),
    ("h6", "2024-10-05 10:00", "harassment", 1, 40, "completed", True, True, True),
    ("h7", "2024-11-11 10:00", "harassment", None, None, "in progress", None, None, True),
    ("h8", "2024-12-01 10:00", "harassment", 12, 12, "completed", None, True, None),
    ("h9", "2025-01-20 10:00", "harassment", 48, 48, "withdrawn", None, None, False),
    ("h10", "2025-02-02 10:00", "harassment", -1, 5, "completed", None, True, True),
    ("h11", "2025-03-01 10:00", "harassment", 6, 24, "in progress", None, None, True),
    ("h12", "2024-05-05 10:00", "harassment", 3, 4, "completed", False, False, True),
    ("s1", "2024-04-01 10:00", "shop theft", 1, 2, "completed", False, True, True),
    ("s2", "2024-04-15 10:00", "shop theft", 20, 30, "completed", False, True, False),
    ("s3", "2024-05-20 10:00", "shop theft", 24, 72, "completed", False, None, True),
    ("s4", "2024-06-30 10:00", "shop theft", 8, 8, "completed", True, True, True),
    ("s5", "2024-07-07 10:00", "shop theft", 3, 6, "completed", False, True, False),
    ("s6", "2024-08-08 10:00", "shop theft", 100, 120, "refused", False, False, True),
    ("s7", "2024-09-09 10:00", "shop theft", 4, 5, "completed", None, True, True),
    ("s8", "2024-10-10 10:00", "shop theft", 2, 3, "completed", False, True, True),
    ("s9", "2024-11-11 10:00", "shop theft", 7, 9, "completed", None, None, False),
    ("s10", "2024-12-12 10:00", "shop theft", 5, 6, "refused", None, False, True),
    ("s11", "2025-01-13 10:00", "shop theft", None, None, "in progress", None, None, True),
    ("s12", "2025-03-31 00:00", "shop theft", 1, 1, "completed", None, True, True),
]


def _frame(rows=ROWS):
    ref = pd.to_datetime([r[1] for r in rows])
    hours = lambda k: pd.to_timedelta([np.nan if r[k] is None else r[k] for r in rows], unit="h")  # noqa: E731
    return pd.DataFrame({
        "referral_id": [r[0] for r in rows],
        "person_ref": [f"p_{i:016x}" for i in range(len(rows))],
        "referred_at": ref,
        "offence": [r[2] for r in rows],
        "route": "community resolution",
        "age_group": ["youth" if i % 3 == 0 else "adult" for i in range(len(rows))],
        "contacted_at": ref + hours(3),
        "task_booked_at": ref + hours(4),
        "outcome": [r[5] for r in rows],
        "task_id": None,
        "reoffended": pd.array([r[6] for r in rows], dtype="boolean"),
        "victim_satisfied": pd.array([r[7] for r in rows], dtype="boolean"),
        "first_time_entrant": pd.array([r[8] for r in rows], dtype="boolean"),
    })


@pytest.fixture(scope="module")
def kpi() -> KPITable:
    return scheme_kpis(_frame(), by="offence", as_of="2025-03-31")


def _raw_row(k, label):
    r = k.raw
    return r[r.iloc[:, 0] == label].iloc[0]


# ----------------------------------------------------------------------------- hand-computed values
def test_harassment_by_hand(kpi):
    h = _raw_row(kpi, "harassment")
    assert h.referrals == 12
    assert (h.completed, h.refused, h.withdrawn, h.in_progress, h.outcome_not_recorded, h.concluded) == (8, 1, 1, 2, 0, 10)
    assert h.completed_pct == pytest.approx(80.0) and h.refused_pct == pytest.approx(10.0)
    # follow-up: cutoff 2024-09-30; h1,h2,h3,h4,h12 recorded (h5 on the cutoff but not recorded; h6 too late)
    assert (h.followup_eligible, h.not_reoffended) == (5, 4) and h.not_reoffended_pct == pytest.approx(80.0)
    assert (h.victim_responses, h.victims_satisfied) == (8, 6) and h.victim_satisfied_pct == pytest.approx(75.0)
    # within 48 h: h1 h2 h5 h6 h8 h9 (exactly 48 h counts) h11 h12; not h3 (50 h), h4 (no booking), h7, h10 (before referral)
    assert h.contacted_booked_48h == 8 and h.contacted_booked_48h_pct == pytest.approx(100 * 8 / 12)
    # hours to contact: 1 2 3 5 6 | 10 12 30 48 50 -> median (6 + 10)/2
    assert h.median_hours_to_contact == pytest.approx(8.0) and h.contacted_valid == 10 and h.contacted == 11
    assert (h.first_time_entrant_recorded, h.first_time_entrants) == (11, 8)
    assert h.first_time_entrant_pct == pytest.approx(100 * 8 / 11)


def test_shop_theft_by_hand(kpi):
    s = _raw_row(kpi, "shop theft")
    assert (s.referrals, s.completed, s.refused, s.withdrawn, s.in_progress, s.concluded) == (12, 9, 2, 0, 1, 11)
    assert s.completed_pct == pytest.approx(100 * 9 / 11)
    assert (s.followup_eligible, s.not_reoffended) == (6, 5)
    assert (s.victim_responses, s.victims_satisfied) == (9, 7)
    assert s.contacted_booked_48h == 9
    assert s.median_hours_to_contact == pytest.approx(5.0)  # 1 1 2 3 4 [5] 7 8 20 24 100
    assert (s.first_time_entrant_recorded, s.first_time_entrants) == (12, 9)


def test_total_by_hand(kpi):
    t = kpi.raw.iloc[-1]
    assert t.iloc[0] == TOTAL_LABEL
    # concluded = harassment 10 + shop theft 11
    assert (t.referrals, t.completed, t.refused, t.withdrawn, t.in_progress, t.concluded) == (24, 17, 3, 1, 3, 21)
    assert t.completed_pct == pytest.approx(100 * 17 / 21)
    assert (t.followup_eligible, t.not_reoffended) == (11, 9)
    assert t.not_reoffended_pct == pytest.approx(100 * 9 / 11)
    assert (t.victim_responses, t.victims_satisfied) == (17, 13)
    assert t.contacted_booked_48h == 17
    assert t.median_hours_to_contact == pytest.approx(6.0)  # 11th of 21 values
    assert (t.first_time_entrant_recorded, t.first_time_entrants) == (23, 17)


def test_window_and_notes(kpi):
    assert str(kpi.followup_cutoff.date()) == "2024-09-30"
    assert "6 months" in kpi.window and "2024-09-30" in kpi.window and "2025-03-31" in kpi.window
    assert any("before the referral" in n for n in kpi.notes)  # h10
    assert any("2 referral(s) have a re-offending flag" in n for n in kpi.notes)  # h6, s8


def test_the_window_note_gives_days_and_the_default_extract_date_only_to_the_month():
    """Cleveland: the latest referral at 2025-12-29 14:43 was published to the minute as the follow-up date
    ("complete by 2025-12-29 14:43, latest referral in the data"): one person's referral time. The default
    extract date is now the first day of its month, and windows are judged by days."""
    from hotspots.kpis import kpi_rows, when_text

    rows = [("a", "2025-05-31 10:00", "harassment", 1, 2, "completed", False, True, True),
            ("b", "2025-06-01 20:31", "harassment", 1, 2, "completed", True, True, True),
            ("c", "2025-06-02 09:00", "harassment", 1, 2, "completed", True, True, True),
            ("d", "2025-12-29 14:43", "harassment", 1, 2, "completed", None, True, True)]
    r = kpi_rows(_frame(rows))
    # whole months: the default extract date is a month's first day, and counting that day's referrals made
    # their month's eligible part one day (the demo's 2024-09: under 5, whose protection hid the headline rate)
    assert r.as_of == pd.Timestamp("2025-12-01") and r.followup_cutoff == pd.Timestamp("2025-05-31")
    assert r.raw.iloc[-1]["followup_eligible"] == 1  # a (May); not b and c (June)
    assert "made on or before 2025-05-31 (follow-up complete by 2025-12-01, the first day of the month of the latest " \
           "date in the referral file, Dec 2025" in r.window
    assert any(n.startswith("2 referral(s) have a re-offending flag") and "window had not ended by 2025-12-01; not counted" in n
               for n in r.notes)  # b and c
    for text in (r.window, *r.notes):
        assert "14:43" not in text and "12-29" not in text
    # the extract date given: windows ended by then count (b's and c's)
    g = kpi_rows(_frame(rows), as_of="2025-12-31")
    assert g.raw.iloc[-1]["followup_eligible"] == 3 and "complete by 2025-12-31, the extract date given" in g.window
    assert g.params["as_of"] == "2025-12-31" and r.params["as_of"] is None
    assert when_text(pd.Timestamp("2024-09-30")) == "2024-09-30"
    with pytest.raises(ParameterError, match="as_of"):
        kpi_rows(_frame(rows), as_of="not a date")


def test_contact_times_long_after_the_referral_are_a_data_quality_note():
    """A contact two years after the referral (a wrong year) makes "within 48 h" 0 % without a word on
    the old code: it is counted and reported (and the hand frame, all within days, has no such note)."""
    from hotspots.kpis import IMPLAUSIBLE_DELAY_DAYS, kpi_rows

    df = _frame()
    assert not any("days after" in n for n in scheme_kpis(df).notes)
    df.loc[df["referral_id"].isin(["h1", "s1"]), "contacted_at"] += pd.Timedelta(days=730)
    rows = kpi_rows(df)
    note = next(n for n in rows.notes if "days after" in n)
    assert note.startswith("2 referral(s)") and f"{IMPLAUSIBLE_DELAY_DAYS} days" in note
    assert rows.checks == {"contact_before_referral": 1, "contact_long_after_referral": 2}  # h10 before


def test_default_as_of_is_the_latest_dates_month():
    k = scheme_kpis(_frame())
    assert k.as_of == pd.Timestamp("2025-03-01 00:00")
    assert len(k.table) == 1 and k.table.iloc[0, 0] == TOTAL_LABEL


def test_reoffending_among_completed_only():
    k = scheme_kpis(_frame(), as_of="2025-03-31", reoffending_base="completed")
    t = k.raw.iloc[-1]
    # eligible and completed: h1 h2 h3 h4 h12 s1 s2 s3 s4 s5 (s6 refused) -> 10, re-offended h3 s4
    assert (t.followup_eligible, t.not_reoffended) == (10, 8)
    assert "completed referrals" in k.window


def test_longer_follow_up_shrinks_eligible():
    k = scheme_kpis(_frame(), as_of="2025-03-31", follow_up_months=12)
    # cutoff 2024-03-31: nobody referred that early
    assert k.raw.iloc[-1].followup_eligible == 0
    assert math.isnan(k.raw.iloc[-1].not_reoffended_pct)


def test_independent_pandas_computation():
    df = _frame()
    k = scheme_kpis(df, by="offence", as_of="2025-03-31")
    g = df.groupby("offence")
    concl = df[df.outcome.isin(["completed", "refused", "withdrawn"])].groupby("offence")
    exp = (concl.apply(lambda d: (d.outcome == "completed").mean() * 100, include_groups=False))
    got = k.raw.set_index("offence").loc[exp.index, "completed_pct"]
    assert np.allclose(got.to_numpy(), exp.to_numpy())
    vs = df.dropna(subset=["victim_satisfied"]).groupby("offence")["victim_satisfied"].mean() * 100
    assert np.allclose(k.raw.set_index("offence").loc[vs.index, "victim_satisfied_pct"], vs.astype(float))
    assert (k.raw.set_index("offence").loc[g.size().index, "referrals"] == g.size()).all()


# ----------------------------------------------------------------------------- suppression
def test_display_suppresses_small_counts(kpi):
    t = kpi.table.set_index("offence")
    assert t.loc["harassment", "refused"] == SUPPRESSED  # 1
    assert t.loc["shop theft", "refused"] == SUPPRESSED  # 2
    assert t.loc["shop theft", "withdrawn"] == 0  # zero is shown
    assert t.loc[TOTAL_LABEL, "referrals"] == 24
    assert t.loc["harassment", "refused_pct"] == SECONDARY
    assert t.loc["harassment", "suppressed"]
    # every displayed count is 0 or >= 5
    for col in _KPI_COUNTS:
        for v in t[col]:
            assert isinstance(v, str) or v == 0 or v >= 5


def test_secondary_suppression_stops_differencing():
    # Three groups: A has 3 referrals (suppressed); without secondary suppression
    # A = total - B - C would give it away.
    rows = [(f"a{i}", "2024-05-01 10:00", "harassment", 1, 2, "completed", False, True, True) for i in range(3)]
    rows += [(f"b{i}", "2024-05-01 10:00", "shop theft", 1, 2, "completed", False, True, True) for i in range(20)]
    rows += [(f"c{i}", "2024-05-01 10:00", "criminal damage", 1, 2, "completed", False, True, True) for i in range(40)]
    k = scheme_kpis(_frame(rows), by="offence", as_of="2025-03-31")
    t = k.table.set_index("offence")
    assert t.loc["harassment", "referrals"] == SUPPRESSED
    assert t.loc["shop theft", "referrals"] == SECONDARY  # next smallest group hidden too
    assert t.loc["criminal damage", "referrals"] == 40
    assert t.loc[TOTAL_LABEL, "referrals"] == 63
    _assert_not_derivable(k)


def test_complement_is_protected_by_default():
    # 20 referrals, 18 not re-offended of 20 eligible: the 2 who re-offended are implied by
    # eligible - not_reoffended, so not_reoffended is hidden and the rate shown only as a bound.
    rows = [(f"r{i}", "2024-03-01 10:00", "harassment", 1, 2, "completed", i < 2, True, True) for i in range(20)]
    k = scheme_kpis(_frame(rows), as_of="2025-03-31")
    t = k.table.iloc[-1]
    assert t.followup_eligible == 20
    # 1-4 re-offended of 20: the rate is above 100 * 16 / 20 = 80 %, shown as ">79"
    assert t.not_reoffended == SECONDARY and t.not_reoffended_pct == ">79"
    assert k.raw.iloc[-1].not_reoffended == 18  # raw keeps the number
    assert k.params["protect_implied"] is True
    _assert_not_derivable(k, protect_implied=True)


def test_rate_with_small_complement_is_exact_only_when_asked():
    # Same data with protect_implied=False: the rate's denominator (20) is above the threshold,
    # so the rate is published (90 %, whole percent) although it implies that 2 re-offended.
    rows = [(f"r{i}", "2024-03-01 10:00", "harassment", 1, 2, "completed", i < 2, True, True) for i in range(20)]
    k = scheme_kpis(_frame(rows), as_of="2025-03-31", protect_implied=False)
    t = k.table.iloc[-1]
    assert (t.followup_eligible, t.not_reoffended, t.not_reoffended_pct) == (20, 18, 90)
    assert isinstance(t.not_reoffended_pct, int)
    assert not t.suppressed
    _assert_not_derivable(k)


def test_displayed_small_counts_are_protected():
    # A displayed small count (3 refused in one group) stays "<5", its rate is only a bound,
    # and the total minus the other groups must not give it away.
    rows = [(f"a{i}", "2024-05-01 10:00", "harassment", 1, 2, "refused" if i < 3 else "completed", False, True, True)
            for i in range(12)]
    rows += [(f"b{i}", "2024-05-01 10:00", "shop theft", 1, 2, "refused" if i < 6 else "completed", False, True, True)
             for i in range(30)]
    k = scheme_kpis(_frame(rows), by="offence", as_of="2025-03-31")
    t = k.table.set_index("offence")
    # 1-4 refused of 12 concluded: under 100 * 4 / 12 = 33.3 %
    assert t.loc["harassment", "refused"] == SUPPRESSED and t.loc["harassment", "refused_pct"] == "<34"
    assert t.loc["shop theft", "refused"] == SECONDARY or t.loc[TOTAL_LABEL, "refused"] == SECONDARY
    _assert_not_derivable(k, protect_implied=True)


def test_percentages_round_half_up_to_whole_percent():
    # 199 of 200 victims satisfied = 99.5 %: with protect_implied=False shown as 99.5, never 100 (half up would
    # say everyone was satisfied); by default the 1 not satisfied is protected and the rate is a bound (98 % or more).
    rows = [(f"r{i}", "2024-03-01 10:00", "harassment", 1, 2, "completed", False, i != 0, True) for i in range(200)]
    k = scheme_kpis(_frame(rows), as_of="2025-03-31", protect_implied=False)
    assert k.raw.iloc[-1].victim_satisfied_pct == pytest.approx(99.5)
    assert k.table.iloc[-1].victim_satisfied_pct == 99.5
    strict = scheme_kpis(_frame(rows), as_of="2025-03-31")
    assert strict.table.iloc[-1].victim_satisfied_pct == ">97"
    assert strict.table.iloc[-1].victims_satisfied == SECONDARY
    # 10 of 16 = 62.5 % -> 63 (nothing small behind it)
    rows = [(f"r{i}", "2024-03-01 10:00", "harassment", 1, 2, "completed" if i < 10 else "refused", False, None, True)
            for i in range(16)]
    k = scheme_kpis(_frame(rows), as_of="2025-03-31")
    assert k.raw.iloc[-1].completed_pct == pytest.approx(62.5)
    assert k.table.iloc[-1].completed_pct == 63


def test_protect_implied_must_be_a_flag():
    with pytest.raises(ParameterError, match="protect_implied"):
        scheme_kpis(_frame(), protect_implied="yes")
    with pytest.raises(ParameterError, match="protect_implied"):
        referral_funnel(_frame(), protect_implied=1)


def test_median_hidden_behind_few_people():
    rows = [(f"r{i}", "2024-03-01 10:00", "harassment", 1 + i, 2 + i, "completed", False, True, True) for i in range(3)]
    k = scheme_kpis(_frame(rows), as_of="2025-03-31")
    assert k.table.iloc[-1].median_hours_to_contact == WITHHELD
    assert k.raw.iloc[-1].median_hours_to_contact == 2.0


def test_custom_threshold_marker():
    k = scheme_kpis(_frame(), by="offence", as_of="2025-03-31", threshold=10)
    t = k.table.set_index("offence")
    assert t.loc["harassment", "completed"] in ("<10", SECONDARY)
    assert "<10" in set(t.to_numpy().ravel().tolist())


def _assert_not_derivable(k: KPITable, protect_implied: bool = False) -> None:
    """Independent audit: no protected cell is fixed by the published linear relations.

    Protected: displayed counts that are small or hidden, and (``protect_implied``) small implied
    complements too. Cell x_c is determined by A_U x_U = b iff adding the unit row e_c does not
    raise the rank of A_U.
    """
    raw = k.raw.reset_index(drop=True)
    n = len(raw)
    cols = list(_KPI_COUNTS) + list(_KPI_IMPLIED)
    cells = [(i, c) for i in range(n) for c in cols]
    pos = {c: j for j, c in enumerate(cells)}
    rel = []
    for i in range(n):
        for tot, parts in _KPI_ROW_RELATIONS:
            row = np.zeros(len(cells))
            row[pos[(i, tot)]] = 1
            for p in parts:
                row[pos[(i, p)]] -= 1
            rel.append(row)
    if n > 1:
        for c in cols:
            row = np.zeros(len(cells))
            row[pos[(n - 1, c)]] = 1
            for i in range(n - 1):
                row[pos[(i, c)]] -= 1
            rel.append(row)
    A = np.array(rel)
    table = k.table.reset_index(drop=True)
    known = {(i, c) for i in range(n) for c in _KPI_COUNTS if not isinstance(table.loc[i, c], str)}
    unknown = [c for c in cells if c not in known]
    AU = A[:, [pos[c] for c in unknown]]
    r = np.linalg.matrix_rank(AU)
    for j, cell in enumerate(unknown):
        v = raw.loc[cell[0], cell[1]]
        small = 0 < v < k.threshold and (protect_implied or cell[1] in _KPI_COUNTS)
        must_hide = small or (cell[1] in _KPI_COUNTS and isinstance(table.loc[cell[0], cell[1]], str))
        if not must_hide:
            continue
        e = np.zeros((1, len(unknown)))
        e[0, j] = 1
        assert np.linalg.matrix_rank(np.vstack([AU, e])) > r, f"{cell} (value {v}) can be worked out"


def test_hand_frame_passes_independent_audit(kpi):
    _assert_not_derivable(kpi)
    # and the displayed numbers equal the raw ones where shown
    for i in range(len(kpi.table)):
        for c in _KPI_COUNTS:
            v = kpi.table.iloc[i][c]
            if not isinstance(v, str):
                assert v == kpi.raw.iloc[i][c]


# ----------------------------------------------------------------------------- grouping
def test_by_month_fills_empty_months():
    rows = [r for r in ROWS if r[0] in ("h1", "s3", "h7")]  # May, Jun, Nov 2024
    k = scheme_kpis(_frame(rows), by="month", as_of="2025-03-31")
    months = list(k.raw["month"])
    assert months == ["2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", TOTAL_LABEL]
    assert list(k.raw["referrals"]) == [1, 1, 0, 0, 0, 0, 1, 3]


def test_missing_group_values_form_not_recorded():
    df = _frame()
    df["hotspot"] = ["H1"] * 10 + [None] * 14
    k = scheme_kpis(df, by="hotspot", as_of="2025-03-31")
    assert list(k.raw["hotspot"]) == ["H1", NOT_RECORDED, TOTAL_LABEL]
    assert list(k.raw["referrals"]) == [10, 14, 24]


def test_offence_groups_follow_schema_order(kpi):
    assert list(kpi.raw["offence"]) == ["harassment", "shop theft", TOTAL_LABEL]


def test_hotspot_column_missing_hints_linkage():
    with pytest.raises(SchemaError, match="linking referrals"):
        scheme_kpis(_frame(), by="hotspot")


# ----------------------------------------------------------------------------- funnel
def test_funnel_and_monthly():
    f = referral_funnel(_frame(), by="offence")
    r = f.raw.set_index("offence")
    # harassment: contacted = all but h7 -> 11; booked = all but h4, h7 -> 10; completed 8
    assert r.loc["harassment", ["referred", "contacted", "booked", "completed"]].tolist() == [12, 11, 10, 8]
    assert r.loc[TOTAL_LABEL, ["referred", "contacted", "booked", "completed"]].tolist() == [24, 22, 21, 17]
    m = monthly_referrals(_frame())
    assert m.raw["referred"].iloc[:-1].sum() == 24
    assert list(m.raw["month"])[0] == "2024-04" and list(m.raw["month"])[-2] == "2025-03"
    for v in m.table["referred"]:
        assert isinstance(v, str) or v == 0 or v >= 5


# ----------------------------------------------------------------------------- bad input
def test_missing_columns():
    with pytest.raises(SchemaError, match="victim_satisfied"):
        scheme_kpis(_frame().drop(columns=["victim_satisfied"]))


@pytest.mark.parametrize(
    "column, row, value, message",
    [
        ("referral_id", 1, "h1", "duplicated"),
        ("referred_at", 3, pd.NaT, "h4"),
        ("outcome", 0, "finished", "finished"),
        ("first_time_entrant", 0, "maybe", "maybe"),
    ],
    ids=["duplicate id", "missing referred_at", "unknown outcome", "bad boolean"],
)
def test_a_bad_value_is_refused(column, row, value, message):
    df = _frame()
    if pd.api.types.is_bool_dtype(df[column]):
        df[column] = df[column].astype(object)  # to hold a word
    df.loc[row, column] = value
    with pytest.raises(SchemaError, match=message):
        scheme_kpis(df)


def test_boolean_words_accepted():
    df = _frame()
    df["victim_satisfied"] = ["yes", "no", None, "1", "0", "", "true", "false"] * 3
    k = scheme_kpis(df)
    assert k.raw.iloc[-1].victim_responses == 18 and k.raw.iloc[-1].victims_satisfied == 9


def test_bad_options():
    with pytest.raises(ParameterError, match="threshold"):
        scheme_kpis(_frame(), threshold=0)
    with pytest.raises(ParameterError, match="follow_up_months"):
        scheme_kpis(_frame(), follow_up_months=0)
    with pytest.raises(ParameterError, match="contact_hours"):
        scheme_kpis(_frame(), contact_hours=-1)
    with pytest.raises(ParameterError, match="empty"):
        scheme_kpis(_frame().iloc[:0])


def test_caller_frame_unchanged():
    df = _frame()
    copy = df.copy()
    scheme_kpis(df, by="offence")
    pd.testing.assert_frame_equal(df, copy)


# ----------------------------------------------------------------------------- properties
@st.composite
def referral_frames(draw):
    n = draw(st.integers(1, 40))
    rows = []
    for i in range(n):
        day = draw(st.integers(0, 364))
        c = draw(st.one_of(st.none(), st.integers(0, 100)))
        b = draw(st.one_of(st.none(), st.integers(0, 100)))
        rows.append((
            f"r{i}", str(pd.Timestamp("2024-01-01 09:00") + pd.Timedelta(days=day)),
            draw(st.sampled_from(["harassment", "shop theft", "criminal damage"])), c, b,
            draw(st.sampled_from(["completed", "refused", "in progress", "withdrawn"])),
            draw(st.sampled_from([True, False, None])), draw(st.sampled_from([True, False, None])),
            draw(st.sampled_from([True, False, None])),
        ))
    return _frame(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(referral_frames(), st.booleans())
def test_invariants(df, strict):
    k = scheme_kpis(df, by="offence", as_of="2025-01-01", protect_implied=strict)
    raw = k.raw
    groups, total = raw.iloc[:-1], raw.iloc[-1]
    for c in list(_KPI_COUNTS) + list(_KPI_IMPLIED):
        assert groups[c].sum() == total[c], c
        assert (raw[c] >= 0).all()
    for c in KPI_PCTS:
        v = raw[c].dropna()
        assert ((v >= 0) & (v <= 100)).all()
    outcomes = ["completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded"]
    assert (raw["referrals"] == raw[outcomes].sum(axis=1)).all()
    t = k.table
    for c in _KPI_COUNTS:
        for v in t[c]:
            assert isinstance(v, str) or v == 0 or v >= k.threshold
    for c, (num, den) in KPI_PCTS.items():
        for i in range(len(t)):
            if isinstance(t.iloc[i][num], str) or isinstance(t.iloc[i][den], str):
                # hidden, withheld or a bound ("<34", ">79") that holds; a shown 0 of a group known to be
                # non-empty ("c" or "<t") is 0 %, which the 0 already tells
                v = t.iloc[i][c]
                if t.iloc[i][num] == 0 and t.iloc[i][den] in (SECONDARY, f"<{k.threshold}"):
                    assert v == 0
                    continue
                assert isinstance(v, str)
                if v[:1] in "<>":
                    exact = raw.iloc[i][c]
                    assert (exact < float(v[1:])) if v[0] == "<" else (exact > float(v[1:]))
    assert (t["suppressed"] == k.suppressed.any(axis=1)).all()
    _assert_not_derivable(k, protect_implied=strict)
    for c in KPI_PCTS:  # whole percent
        for v in t[c]:
            if not isinstance(v, str) and v is not None and not (isinstance(v, float) and math.isnan(v)):
                assert isinstance(v, int)


# ----------------------------------------------------------------------------- demo data (acceptance)
def test_demo_kpis_match_independent_pandas_and_reported_figures():
    from hotspots.demo import generate_demo

    ref = generate_demo(0).referrals
    k = scheme_kpis(ref, by="route")
    raw = k.raw.set_index("route")
    # independent pandas computation
    concluded = ref[ref.outcome.isin(["completed", "refused", "withdrawn"])]
    exp_completed = concluded.groupby("route")["outcome"].apply(lambda s: (s == "completed").mean() * 100)
    assert np.allclose(raw.loc[exp_completed.index, "completed_pct"], exp_completed)
    latest = max(ref.referred_at.max(), ref.contacted_at.max(), ref.task_booked_at.max())
    cutoff = latest.to_period("M").to_timestamp() - pd.DateOffset(months=6)  # the latest date's month, whole months
    elig = ref[(ref.referred_at < cutoff) & ref.reoffended.notna()]
    exp_not_reoff = (elig.reoffended == False).mean() * 100  # noqa: E712
    assert raw.loc[TOTAL_LABEL, "not_reoffended_pct"] == pytest.approx(exp_not_reoff)
    dc = ref.contacted_at - ref.referred_at
    db = ref.task_booked_at - ref.referred_at
    h48 = pd.Timedelta(hours=48)
    ok = (dc >= pd.Timedelta(0)) & (dc <= h48) & (db >= pd.Timedelta(0)) & (db <= h48)
    assert raw.loc[TOTAL_LABEL, "contacted_booked_48h"] == ok.sum()
    median = (dc[dc >= pd.Timedelta(0)] / pd.Timedelta(hours=1)).median()
    assert raw.loc[TOTAL_LABEL, "median_hours_to_contact"] == pytest.approx(median)
    # near the scheme's reported figures (78 % completed, 79 % not re-offended, 720+ since Oct 2024)
    assert 74 <= raw.loc[TOTAL_LABEL, "completed_pct"] <= 82
    assert 75 <= raw.loc[TOTAL_LABEL, "not_reoffended_pct"] <= 83
    assert (ref.referred_at >= "2024-10-01").sum() >= 720
    # suppression applied: nothing between 1 and 4 is displayed
    for c in _KPI_COUNTS:
        for v in k.table[c]:
            assert isinstance(v, str) or v == 0 or v >= 5
    _assert_not_derivable(k)


def test_demo_headline_victim_satisfaction_is_a_bound_by_default():
    # Nearly every responding victim is satisfied, so the implied "not satisfied" count is 1-4.
    # Default: that count is protected and the rate shown as a bound (">99"); with
    # protect_implied=False the rate is shown, to one decimal as whole percent would round it up to 100.
    from hotspots.demo import generate_demo

    ref = generate_demo(0).referrals
    vs = ref["victim_satisfied"].dropna().astype(bool)
    n_resp, n_sat = len(vs), int(vs.sum())
    assert n_resp >= 5 and 0 < n_resp - n_sat < 5  # the situation the policy is about
    s = scheme_kpis(ref).table.iloc[-1]
    assert s.victim_responses == n_resp
    assert s.victim_satisfied_pct == ">99" and s.victims_satisfied == SECONDARY
    assert 100 * (n_resp - 4) / n_resp > 99  # the bound holds for any 1-4 not satisfied
    t = scheme_kpis(ref, protect_implied=False).table.iloc[-1]
    assert math.floor(100 * n_sat / n_resp + 0.5) == 100 and t.victim_satisfied_pct == math.floor(1000 * n_sat / n_resp) / 10


def test_funnel_shares_are_named_apart_from_the_kpi_completion_rate():
    """The funnel's completion share is of all referred, the KPI tables' ``completed_pct`` of concluded:
    two figures, two names."""
    f = referral_funnel(_frame())
    k = scheme_kpis(_frame())
    assert {"contacted_of_referred_pct", "booked_of_referred_pct", "completed_of_referred_pct"} <= set(f.raw.columns)
    assert "completed_pct" not in f.raw.columns and "completed_pct" not in f.table.columns
    assert f.raw.iloc[-1].completed_of_referred_pct == pytest.approx(100 * 17 / 24)
    assert k.raw.iloc[-1].completed_pct == pytest.approx(100 * k.raw.iloc[-1].completed / k.raw.iloc[-1].concluded)


# ----------------------------------------------------------------------------- the 48-hour contact target
def test_contacted_within_48h_by_hand(kpi):
    """Contact alone: harassment 5 30 10 2 1 12 48 6 3 h (not 50 h, no contact, -1 h) -> 9; shop theft all but
    100 h and no contact -> 10."""
    h, s, t = _raw_row(kpi, "harassment"), _raw_row(kpi, "shop theft"), kpi.raw.iloc[-1]
    assert (h.contacted_48h, s.contacted_48h, t.contacted_48h) == (9, 10, 19)
    assert t.contacted_48h_pct == pytest.approx(100 * 19 / 24)
    # contacted and booked is a subset of contacted within 48 h (h4 contacted in 10 h has no booking)
    assert (h.contacted_booked_48h, t.contacted_booked_48h) == (8, 17)
    assert bool(t.contact_recorded) and bool(t.booking_recorded)
    shown = kpi.table.iloc[-1]
    assert shown.contacted_48h == 19 and shown.contacted_48h_pct == 79  # 79.2 %
    assert kpi.table.columns.get_loc("contacted_48h_pct") < kpi.table.columns.get_loc("contacted_booked_48h")


def test_no_booking_times_read_not_recorded_not_zero():
    """A blank booking column: 'contacted and booked within 48 h' and the funnel's booked stage cannot be
    known, so they read "not recorded" (not 0 % and 0 booked before 17 completed); contact is still reported."""
    df = _frame().assign(task_booked_at=pd.NaT)
    k = scheme_kpis(df, by="offence")
    for _, row in k.table.iterrows():
        assert row.contacted_booked_48h == NOT_RECORDED and row.contacted_booked_48h_pct == NOT_RECORDED
    t = k.table.iloc[-1]
    assert t.contacted_48h == 19 and t.contacted_48h_pct == 79
    assert k.raw.iloc[-1].contacted_booked_48h == 0 and not k.raw.iloc[-1].booking_recorded  # exact, internal
    f = referral_funnel(df).table.iloc[-1]
    # (22 contacted of 24 would give away the 2 not contacted: hidden by the disclosure rules)
    assert (f.referred, f.contacted, f.booked, f.completed) == (24, SECONDARY, NOT_RECORDED, 17)
    assert f.booked_of_referred_pct == NOT_RECORDED and f.completed_of_referred_pct == 71
    # one booking time anywhere: booking is recorded, and a group without one shows a real 0
    one = df.copy()
    one.loc[0, "task_booked_at"] = one.loc[0, "referred_at"] + pd.Timedelta(hours=20)
    k1 = scheme_kpis(one, by="offence").table.set_index("offence")
    assert k1.loc["shop theft", "contacted_booked_48h"] == 0 and k1.loc["harassment", "contacted_booked_48h"] == "<5"


def test_no_contact_times_read_not_recorded():
    df = _frame().assign(contacted_at=pd.NaT)
    t = scheme_kpis(df).table.iloc[-1]
    assert t.contacted_48h == NOT_RECORDED and t.contacted_48h_pct == NOT_RECORDED
    assert t.median_hours_to_contact == NOT_RECORDED
    assert referral_funnel(df).table.iloc[-1].contacted == NOT_RECORDED


# ----------------------------------------------------------------------------- groups measured in people
def test_a_group_of_one_person_referred_many_times_is_protected_as_a_group_of_one():
    """ref_oneperson.csv: every "youth" referral is one person's; the row showed their outcomes."""
    df = _frame()
    youth = (df["age_group"] == "youth").to_numpy()
    df.loc[youth, "person_ref"] = "p_aaaaaaaaaaaaaaaa"
    assert youth.sum() == 8
    k = scheme_kpis(df, by="age_group", as_of="2025-03-31")
    raw = _raw_row(k, "youth")
    assert raw.referrals == 8 and raw.people == 1 and raw.people_concluded == 1
    row = k.table[k.table["age_group"] == "youth"].iloc[0]
    # size and breakdown withheld: 8 referrals of 1 person are a group of one
    assert all(row[c] == WITHHELD for c in ("referrals", "completed", "refused", "victims_satisfied", "not_reoffended"))
    assert row.median_hours_to_contact == WITHHELD
    assert _raw_row(k, "adult").people == 16 and _raw_row(k, TOTAL_LABEL).people == 17
    # without person references groups fall back to referrals: the youth row is shown (8 referrals)
    fallback = scheme_kpis(df.drop(columns="person_ref"), by="age_group", as_of="2025-03-31")
    assert "people" not in fallback.raw.columns
    assert fallback.table[fallback.table["age_group"] == "youth"].iloc[0].referrals == 8


def test_a_median_needs_ten_people():
    """Hotspot 4's median hours to contact (17.2) was one of its 5 people's delays."""
    delays = [34.65, 13.45, 36.01, 17.18, 7.1]
    rows = [(f"r{i}", "2024-03-01 10:00", "harassment", h, h + 1, "completed", False, True, True) for i, h in enumerate(delays)]
    k = scheme_kpis(_frame(rows), as_of="2025-03-31")
    assert k.raw.iloc[-1].median_hours_to_contact == pytest.approx(17.18) and k.raw.iloc[-1].people_contacted == 5
    assert k.table.iloc[-1].median_hours_to_contact == WITHHELD
    more = rows + [(f"q{i}", "2024-03-01 10:00", "harassment", 20 + i, 21 + i, "completed", False, True, True) for i in range(5)]
    k10 = scheme_kpis(_frame(more), as_of="2025-03-31")
    assert k10.table.iloc[-1].median_hours_to_contact == pytest.approx(round(float(np.median(
        delays + [20, 21, 22, 23, 24])), 1))
    # ten referrals of nine people: still hidden (people are counted, not referrals)
    same = _frame(more)
    same.loc[same.index[-1], "person_ref"] = same["person_ref"].iloc[0]
    assert scheme_kpis(same, as_of="2025-03-31").table.iloc[-1].median_hours_to_contact == WITHHELD


def test_hotspots_sort_by_number_and_every_area_is_listed():
    from hotspots.kpis import group_order_key, kpi_rows

    df = _frame()
    df["hotspot"] = (["10"] * 8 + ["2"] * 8 + ["1"] * 4 + ["outside hotspots"] * 4)
    rows = kpi_rows(df, by="hotspot", as_of="2025-03-31", levels=["1", "2", "9", "10", "outside hotspots"])
    assert list(rows.raw["hotspot"]) == ["1", "2", "9", "10", "outside hotspots", TOTAL_LABEL]
    assert list(rows.raw["referrals"]) == [4, 8, 0, 8, 4, 24]  # hotspot 9: no referrals, a row of 0
    assert sorted(["b", "10", "a", "9"], key=group_order_key) == ["9", "10", "a", "b"]
