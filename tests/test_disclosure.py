"""hotspots.disclosure: the one disclosure-control engine (hand-checked cases, the guarantee checked
by the independent attacker of tests/attack.py on random tables)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotspots._errors import ParameterError
from hotspots.disclosure import (
    SECONDARY,
    WITHHELD,
    Ledger,
    check_threshold,
    disclosure_statement,
    feasible_ranges,
    percent_text,
    protect,
    render_table,
    suppress_count,
)

sys.path.insert(0, str(Path(__file__).parent))
import attack  # noqa: E402


def _attacker_findings(led, p, t):
    """What the independent attacker (tests/attack.py) works out from everything ``p`` publishes of
    ``led`` and its relations, at threshold ``t``: [] when protection holds."""
    att = attack.Attack(t)
    for k in led.keys:
        att.published(k, p.marker(k))
    for total, parts in led.relations:
        att.equal(led.keys[total], [led.keys[q] for q in parts])
    return att.findings()


def _list(values, total_cost=2):
    led = Ledger()
    led.add("total", sum(values), cost=total_cost)
    for i, v in enumerate(values):
        led.add(i, v)
    led.relate("total", list(range(len(values))))
    return led


# =============================================================================== threshold
def test_a_threshold_below_3_needs_the_unsafe_flag_and_says_so():
    assert check_threshold(5) == 5 and check_threshold(3) == 3
    for t in (1, 2):
        with pytest.raises(ParameterError, match="unsafe"):
            check_threshold(t)
        assert check_threshold(t, True) == t
        assert disclosure_statement(t).startswith("UNSAFE")
    for bad in (0, -1, 2.5, "5", True, None):
        with pytest.raises(ParameterError, match="threshold"):
            check_threshold(bad)
    with pytest.raises(ParameterError, match="unsafe"):
        check_threshold(5, "yes")
    # on the command line the message names its flags, not Python's arguments (`threshold` 2 ... `unsafe=True`)
    from hotspots.validation import argument_names

    with pytest.raises(ParameterError) as py:
        check_threshold(2)
    assert str(py.value).startswith("`threshold` 2 suppresses only counts of 1") and "`unsafe=True`" in str(py.value)
    with argument_names({"threshold": "--threshold", "unsafe_threshold": "--unsafe-threshold"}):
        with pytest.raises(ParameterError) as cli:
            check_threshold(2)
    assert str(cli.value).startswith("`--threshold` 2 suppresses only counts of 1")
    assert "pass `--unsafe-threshold` for outputs" in str(cli.value) and "unsafe=True" not in str(cli.value)
    assert "<5" in disclosure_statement(5) and "UNSAFE" not in disclosure_statement(5)
    # threshold 1 publishes everything; 2 hides only ones (and cannot protect them: "<2" is 1)
    p = protect(_list([1, 2, 9]), threshold=1, unsafe=True)
    assert [p.marker(i) for i in range(3)] == [1, 2, 9] and p.notes
    p = protect(_list([1, 2, 9]), threshold=2, unsafe=True)
    assert [p.marker(i) for i in range(3)] == ["<2", 2, 9]


def test_suppress_count_is_primary_suppression_of_one_figure():
    assert [suppress_count(v) for v in (0, 1, 4, 5, None)] == [0, "<5", "<5", 5, None]
    assert suppress_count(7, threshold=10) == "<10"


# =============================================================================== ledger
def test_ledger_keeps_one_count_per_key_and_checks_relations():
    led = Ledger()
    led.add("a", 3)
    led.add("a", 3, shown=False)  # the same count again: fine, still shown
    assert led.shown[led.index("a")] is True
    with pytest.raises(ParameterError, match="twice"):
        led.add("a", 4)
    with pytest.raises(ParameterError, match=">= 0"):
        led.add("b", -1)
    led.add("b", 5)
    led.add("c", 9)
    with pytest.raises(ParameterError, match="does not hold"):
        led.relate("c", ["a", "b"])
    led.add("d", 8)
    led.relate("d", ["a", "b"])
    led.relate("d", ["b", "a"])  # the same relation once
    assert len(led.relations) == 1
    copy = led.copy()
    copy.add("e", 1)
    assert "e" in copy and "e" not in led


# =============================================================================== protect by hand
@pytest.mark.parametrize("values, shown", [
    ([9, 3], ["c", "<5"]),             # 3 = 12 - 9: the 9 is hidden too
    ([10, 1, 1], ["c", "<5", "<5"]),   # 1 + 1 = 2 pins both
    ([20, 4, 4], ["c", "<5", "<5"]),   # 4 + 4 = 8 with each 1-4 pins both
    ([20, 2, 3], [20, "<5", "<5"]),    # 2 + 3 = 5: 1+4, 2+3, 3+2, 4+1
    ([5, 6, 0], [5, 6, 0]),
    ([0, 0, 7], [0, 0, 7]),
])
def test_one_list_with_a_known_total(values, shown):
    p = protect(_list(values))
    assert [p.marker(i) for i in range(len(values))] == shown
    assert p.marker("total") == sum(values)


def test_c_is_never_a_zero():
    # hiding the zero would not help anyway (it would have to stay 0); the 30 is hidden instead
    p = protect(_list([30, 2, 0]))
    assert p.marker(2) == 0 and p.marker(0) == SECONDARY


def test_small_groups_are_not_broken_down():
    led = Ledger()
    led.add_table([("g", {"n": 3, "yes": 3, "no": 0})], shown=["n", "yes", "no"], relations=[("n", ["yes", "no"])], size="n")
    p = protect(led)
    assert p.marker(("g", "n")) == "<5"
    # "all 3 said yes" would tell as much as a count: the breakdown is withheld, zeros too
    assert p.marker(("g", "yes")) == WITHHELD and p.marker(("g", "no")) == WITHHELD
    assert p.state(("g", "yes")) == "withheld"


def test_implied_complements_are_protected_by_default():
    led = Ledger()
    led.add_table([("g", {"resp": 874, "sat": 870, "not": 4})], shown=["resp", "sat"], implied=["not"],
                  relations=[("resp", ["sat", "not"])], signals={"not": "resp"})
    p = protect(led)
    assert p.marker(("g", "resp")) == 874 and p.marker(("g", "sat")) == SECONDARY
    assert p.small_implied(("g", "not"))
    table, mask = render_table(p, [("g", "All")], label="group", counts=["resp", "sat"],
                               percents={"sat_pct": ("sat", "resp", "not")})
    assert table.loc[0, "sat_pct"] == ">99" and mask.loc[0, "sat_pct"]
    loose = protect(led, protect_implied=False)
    assert loose.marker(("g", "sat")) == 870


def test_a_later_publication_is_protected_against_the_first():
    first = _list([40, 30])
    p1 = protect(first)
    later = first.copy()
    later.add("read", 75)
    later.add("dropped", 5)
    later.add("r1", 2)
    later.add("r2", 3)
    later.relate("read", ["total", "dropped"])
    later.relate("dropped", ["r1", "r2"])
    p2 = protect(later, base=p1)
    assert [p2.marker(k) for k in first.keys] == [p1.marker(k) for k in first.keys]  # unchanged
    assert p2.marker("r1") == "<5" and p2.marker("r2") == "<5"
    other = Ledger()
    other.add("something else", 3)
    with pytest.raises(ParameterError, match="base"):
        protect(other, base=p1)


def test_feasible_ranges_are_what_a_reader_can_work_out():
    p = protect(_list([20, 2, 3]))
    (a, b), (c, d), (e, f) = feasible_ranges(p, [{1: 1.0}, {1: 1.0, 2: 1.0}, {0: 1.0}])
    assert (a, b) == (1, 4)
    assert c == d == 5  # the two small ones together are known: 25 - 20
    assert e == f == 20


@pytest.mark.parametrize("num, den, num_state, comp_state, want", [
    (78, 100, "shown", "shown", 78),
    (1, 200, "shown", "shown", 1),
    (None, 874, "small", "shown", "<1"),
    (None, 12, "small", "shown", "<34"),
    (None, 874, "secondary", "small", ">99"),
    (None, 20, "secondary", "small", ">79"),
    (None, 4, "small", "shown", SECONDARY),
    (5, None, "shown", "shown", SECONDARY),
    (0, 0, "shown", "shown", None),
    (1, 8, "shown", "shown", 13),  # 12.5 rounds half up
    # never 100 or 0 when it is not exactly that (870 of 874 victims satisfied was shown as 100 %)
    (870, 874, "shown", "shown", 99.5),
    (9_996, 10_000, "shown", "shown", 99.9),
    (1, 400, "shown", "shown", 0.2),
    (1, 100_000, "shown", "shown", 0.001),
    (874, 874, "shown", "shown", 100),
    (0, 874, "shown", "shown", 0),
])
def test_percent_text(num, den, num_state, comp_state, want):
    assert percent_text(num, den, num_state=num_state, comp_state=comp_state) == want


# =============================================================================== the guarantee
@st.composite
def tables(draw):
    """A small two-way table with its row and column totals (a count per cell, 0 to 12)."""
    r = draw(st.integers(2, 4))
    c = draw(st.integers(2, 4))
    cells = draw(st.lists(st.lists(st.integers(0, 12), min_size=c, max_size=c), min_size=r, max_size=r))
    return np.array(cells)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([3, 5]))
def test_protected_tables_survive_the_independent_attacker(cells, t):
    r, c = cells.shape
    led = Ledger()
    for i in range(r):
        for j in range(c):
            led.add((i, j), int(cells[i, j]))
    for i in range(r):
        led.add((i, "T"), int(cells[i].sum()), cost=1)
        led.relate((i, "T"), [(i, j) for j in range(c)])
    for j in range(c):
        led.add(("T", j), int(cells[:, j].sum()), cost=1)
        led.relate(("T", j), [(i, j) for i in range(r)])
    led.add(("T", "T"), int(cells.sum()), cost=2)
    led.relate(("T", "T"), [(i, "T") for i in range(r)])
    led.relate(("T", "T"), [("T", j) for j in range(c)])
    p = protect(led, threshold=t)
    assert _attacker_findings(led, p, t) == []
    # every displayed number is the true count; every small count is hidden
    for k in led.keys:
        v = led.value(k)
        m = p.marker(k)
        assert m == v if isinstance(m, int) else (m in (f"<{t}", SECONDARY, WITHHELD))
        if 0 < v < t:
            assert isinstance(m, str)
        if m == SECONDARY:
            assert v >= t


def test_the_statement_explains_every_x():
    """An 'x' also marks the rates of a large group whose denominator is shown muted (kpis_by_route.csv: 142 victim
    responses, victim_satisfied_pct 'x'); the statement said only 'a group smaller than 5'."""
    text = disclosure_statement(5)
    assert "'x' marks a figure not shown at all (any value, 0 included): the breakdown of a group smaller than 5" in text
    # an 'x' on a count of 5 or more (the fallback when no 'c' can free a small count) is described too
    assert "a count whose <5 or 'c' would still let a small count be worked out" in text
    assert "a rate (of any group) that would," in text
    # groups are measured in people, and a median of few people is not shown
    assert "the breakdown of a group smaller than 5 people (or its size, when they were referred 5 or more times)" in text
    assert "or a median of fewer than 10 people;" in text
    assert "groups are measured in referrals, not people" in disclosure_statement(5, by_people=False)
    assert "measured in referrals" not in text
    assert "a percentage shown as '<16' or '>92' is a bound, where its exact value would." in text  # "<16" explained
    # suppression protects one run: two runs on files a few referrals apart give those referrals away
    assert text.endswith("Publish one run per period: two runs on referral files that differ by a few referrals reveal "
                         "those referrals (the differences between their figures are those people's).")


def _four_ones():
    """Area A sends 4 referrals ("<5") to four sites, one each: four lines of "<5" pin each line to 1
    and A's total to 4, whatever "c" is added (the tester's hotspot 7, STF-T04/T06/T08/T10). Area B
    sends 10 to each site; the sites hold 11 each; 44 referrals with a site in all."""
    led = Ledger()
    led.add(("all", "with_site"), 44, cost=2)
    led.add(("A", "with_site"), 4, cost=1)
    led.add(("B", "with_site"), 40, cost=1)
    led.relate(("all", "with_site"), [("A", "with_site"), ("B", "with_site")])
    for s in range(4):
        led.add(("site", s), 11)
        led.add(("flow", "A", s), 1)
        led.add(("flow", "B", s), 10)
        led.relate(("site", s), [("flow", "A", s), ("flow", "B", s)])
    led.relate(("all", "with_site"), [("site", s) for s in range(4)])
    led.relate(("A", "with_site"), [("flow", "A", s) for s in range(4)])
    led.relate(("B", "with_site"), [("flow", "B", s) for s in range(4)])
    return led


def test_x_withholds_only_what_no_c_can_protect():
    """Over-suppression reported on the Staffordshire file: when no "c" could free a small count, every count
    in all its relations was withheld, so sites of 33, 32, 30 and 27 referrals, 319 referrals with a site and
    a hotspot of 5 all read 'x'. Only the pinned count itself needs it here: A's total 4 as 'x' (any value,
    0 included) lets each line be 0 or more; the grand total, B and the sites stay shown."""
    led = _four_ones()
    p = protect(led)
    assert p.marker(("A", "with_site")) == WITHHELD
    assert [k for k in led.keys if p.marker(k) == WITHHELD] == [("A", "with_site")]
    assert p.marker(("all", "with_site")) == 44
    assert [p.marker(("site", s)) for s in range(4)] == [11] * 4
    assert [p.marker(("flow", "A", s)) for s in range(4)] == ["<5"] * 4
    # and the guarantee holds: the independent attacker works nothing out
    assert _attacker_findings(led, p, 5) == []


def test_a_shown_zeros_rate_is_zero_when_its_group_is_known_to_be_non_empty():
    """Hotspot 2 showed reparation_local 0 but local_pct 'x': 0 of a group hidden as "c" (or "<5") is 0 %."""
    assert percent_text(0, None, den_state="secondary") == 0
    assert percent_text(0, None, den_state="small") == 0
    assert percent_text(0, None, den_state="withheld") == SECONDARY  # a withheld group may be empty
    assert percent_text(3, None, den_state="secondary") == SECONDARY
    led = Ledger()
    led.add(("all", "with"), 20, cost=2)
    led.add(("A", "with"), 7, cost=1)
    led.add(("B", "with"), 13, cost=1)
    led.relate(("all", "with"), [("A", "with"), ("B", "with")])
    led.add(("A", "local"), 0)
    led.add(("A", "far"), 7, shown=False)
    led.relate(("A", "with"), [("A", "local"), ("A", "far")])
    p = protect(led)
    status = p.status.copy()
    status[led.index(("A", "with"))] = 2  # A's group hidden as "c" (as another table may need)
    hidden = type(p)(led, status, p.threshold, p.protect_implied, p.notes, muted=p.muted)
    table, _ = render_table(hidden, [("A", "A")], label="g", counts=["with", "local"], percents={"pct": ("local", "with", None)})
    assert table.loc[0, "with"] == SECONDARY
    assert table.loc[0, "local"] == 0 and table.loc[0, "pct"] == 0


def test_a_small_groups_breakdown_stays_withheld_and_cannot_be_subtracted():
    """A group of 1 shows its size only ("<5"): its 0 victims satisfied is "x", and the other rows
    and the total do not give it away (a 0 would state what is known of that person)."""
    led = Ledger()
    rows = [("G1", {"referrals": 1, "satisfied": 0}), ("G2", {"referrals": 20, "satisfied": 10}),
            ("G3", {"referrals": 22, "satisfied": 12}), ("All", {"referrals": 43, "satisfied": 22})]
    led.add_table(rows, shown=["referrals", "satisfied"], total="All", size="referrals")
    p = protect(led)
    assert p.marker(("G1", "referrals")) == "<5"
    assert p.marker(("G1", "satisfied")) == "x"
    lo, hi = feasible_ranges(p, [{("G1", "satisfied"): 1}])[0]
    assert lo < hi  # nor can it be worked out from the other rows (one of them is hidden for it)
    assert p.marker(("All", "satisfied")) == 22


# =============================================================================== groups measured in people
def _one_person_rows():
    """G1: 6 referrals, all of one person, all refused and none satisfied (ref_oneperson.csv's "youth")."""
    return [("G1", {"referrals": 6, "refused": 6, "satisfied": 0, "people": 1}),
            ("G2", {"referrals": 20, "refused": 4, "satisfied": 10, "people": 18}),
            ("G3", {"referrals": 22, "refused": 7, "satisfied": 12, "people": 20}),
            ("All", {"referrals": 48, "refused": 17, "satisfied": 22, "people": 39})]


def test_a_group_of_one_person_referred_six_times_is_a_group_of_one():
    led = Ledger()
    led.add_table(_one_person_rows(), shown=["referrals", "refused", "satisfied"], total="All", size="referrals",
                  people={"referrals": "people"})
    p = protect(led)
    # its outcomes are that person's: withheld, and so is its size (6 referrals of one person; "<5" would be false)
    assert [p.marker(("G1", m)) for m in ("referrals", "refused", "satisfied")] == [WITHHELD] * 3
    for key in [("G1", "referrals"), ("G1", "refused"), ("G1", "satisfied")]:
        lo, hi = feasible_ranges(p, [{key: 1}])[0]
        assert lo < hi  # not worked out from the other rows and the total either
    assert p.marker(("All", "referrals")) == 48
    # measured in referrals (no people given) the same group was published whole: what the tester saw
    old = Ledger()
    old.add_table(_one_person_rows(), shown=["referrals", "refused", "satisfied"], total="All", size="referrals")
    q = protect(old)
    assert q.marker(("G1", "referrals")) == 6 and q.marker(("G1", "satisfied")) == 0


def test_people_must_fit_their_count_and_agree_between_tables():
    led = Ledger()
    with pytest.raises(ParameterError, match="`people` must be a whole number from 1 to the count"):
        led.add("a", 3, people=4)
    with pytest.raises(ParameterError, match="`people`"):
        led.add("b", 3, people=0)
    led.add("c", 6, people=2)
    with pytest.raises(ParameterError, match="different numbers of people"):
        led.add("c", 6, people=3)
    led.add("c", 6)  # unknown the second time: the first stands
    assert led.n_people(led.index("c")) == 2 and led.copy().n_people(led.index("c")) == 2
    led.add("d", 7)
    assert led.n_people(led.index("d")) == 7  # unknown: the count itself


def test_person_codes_and_the_median_rule():
    from hotspots.disclosure import MEDIAN_MIN_PEOPLE, median_shown, person_codes

    codes = person_codes(["p_a", "p_b", "p_a", None, None])
    assert codes.tolist() == [0, 1, 0, 2, 3]  # a missing reference is a person of its own
    assert np.unique(codes).size == 4
    # Hotspot 4's median hours to contact was one person's delay (5 people: 34.65, 13.45, 36.01, 17.18, 7.1 -> 17.18)
    assert MEDIAN_MIN_PEOPLE == 10
    assert not median_shown(5) and not median_shown(9) and median_shown(10) and median_shown(0)
    assert not median_shown(11, threshold=6) and median_shown(12, threshold=6)  # twice a higher threshold


def test_a_median_of_too_few_people_is_withheld_in_tables():
    led = Ledger()
    rows = [("A", {"n": 6, "people": 5}), ("B", {"n": 12, "people": 12}), ("All", {"n": 18, "people": 17})]
    led.add_table(rows, shown=["n"], total="All", size="n", people={"n": "people"})
    p = protect(led)
    table, mask = render_table(p, [("A", "A"), ("B", "B"), ("All", "All")], label="g", counts=["n"],
                               medians={"med": ([17.18, 20.0, 19.0], "n")})
    assert table["med"].tolist() == [WITHHELD, 20.0, 19.0]  # 5 people behind A's median: hidden
    assert mask["med"].tolist() == [True, False, False]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(1, 12)), min_size=2, max_size=4),
       st.sampled_from([3, 5]))
@example([(0, 1, 1), (0, 2, 2)], 3)
def test_groups_measured_in_people_survive_the_independent_attacker(groups, t):
    """Rows of (yes, no) referrals with a number of people from 1 to their size: no group of fewer
    than ``t`` people shows anything but markers, and nothing hidden can be worked out."""
    led = Ledger()
    rows = []
    for i, (yes, no, ppl) in enumerate(groups):
        n = yes + no
        rows.append((i, {"n": n, "yes": yes, "no": no, "people": min(ppl, n)}))
    tot = {m: sum(r[m] for _, r in rows) for m in ("n", "yes", "no", "people")}
    rows.append(("T", tot))
    led.add_table(rows, shown=["n", "yes", "no"], relations=[("n", ["yes", "no"])], total="T", size="n",
                  people={"n": "people"})
    p = protect(led, threshold=t)
    assert _attacker_findings(led, p, t) == []
    for key, r in rows:
        if 0 < r["people"] < t:
            # (a 0 under a published total of 0 is shown: the total already says it; hypothesis found
            # groups [(0, 1, 1), (0, 2, 2)] at t = 3, whose "yes" total is a published 0)
            assert all(isinstance(p.marker((key, m)), str) or p.marker(("T", m)) == 0 for m in ("n", "yes", "no"))


def test_hidden_parts_of_a_shown_total_never_add_up_to_a_small_count() -> None:
    # the tester's case: in hotspots 7 = hotspot 1 (5) + hotspot 2 ("<5") + two withheld hotspots ("x");
    # showing the 5 would tell that hotspots 2, 5 and 6 together hold 2 people
    from hotspots.disclosure import small_remainders

    ledger = Ledger()
    for key, value in (("total", 7), ("h1", 5), ("h2", 1), ("h5", 1), ("h6", 0), ("h7", 9)):
        ledger.add(key, value)
    ledger.add("all", 16)
    ledger.withhold("h5")
    ledger.withhold("h6")
    ledger.relate("total", ["h1", "h2", "h5", "h6"])
    ledger.relate("all", ["total", "h7"])
    p = protect(ledger)
    assert p.marker("h2") == "<5" and p.marker("h5") == "x"
    assert p.marker("h1") == "c"  # complementary suppression: the hidden parts now hold 7
    assert p.marker("total") == 7 and p.marker("all") == 16
    assert small_remainders(ledger, p.status.copy(), 5, np.zeros(len(ledger), dtype=bool), lambda j: j, fix=False) == []


def test_small_remainders_hides_the_cheapest_shown_part_or_else_the_total() -> None:
    from hotspots.disclosure import small_remainders
    from hotspots.disclosure_audit import HIDDEN, PRIMARY, SHOWN, WITHHELD_CODE

    ledger = Ledger()
    for key, value in (("t", 8), ("a", 6), ("b", 1), ("c", 1)):
        ledger.add(key, value)
    ledger.relate("t", ["a", "b", "c"])
    status = np.array([SHOWN, SHOWN, PRIMARY, WITHHELD_CODE], dtype=np.int8)
    frozen = np.zeros(4, dtype=bool)
    assert small_remainders(ledger, status, 5, frozen, lambda j: j) == [0]
    assert status.tolist() == [SHOWN, HIDDEN, PRIMARY, WITHHELD_CODE]
    frozen[1] = True  # "a" was published earlier: the total is hidden instead
    status = np.array([SHOWN, SHOWN, PRIMARY, WITHHELD_CODE], dtype=np.int8)
    small_remainders(ledger, status, 5, frozen, lambda j: j)
    assert status.tolist() == [HIDDEN, SHOWN, PRIMARY, WITHHELD_CODE]
    # one hidden part only, or a remainder of 0 or >= 5: nothing to do
    status = np.array([SHOWN, SHOWN, PRIMARY, SHOWN], dtype=np.int8)
    assert small_remainders(ledger, status, 5, np.zeros(4, dtype=bool), lambda j: j) == []


def test_the_audit_keeps_the_counts_it_showed_to_vary_and_never_a_worked_out_one():
    """``AuditSystem.pinned(free=)``: a 2 x 2 table with its margins. All four cells hidden ("c"):
    each can trade one unit round the table, so none is worked out and all four are recorded as
    varying; auditing again with that record gives the same answer. One cell hidden alone: its row
    total gives it away, and it is not recorded."""
    from hotspots.disclosure_audit import HIDDEN as C
    from hotspots.disclosure_audit import SHOWN, AuditSystem

    led = Ledger()
    cells = {("r1", "k1"): 6, ("r1", "k2"): 7, ("r2", "k1"): 8, ("r2", "k2"): 9}
    for key, v in cells.items():
        led.add(key, v)
    for r in ("r1", "r2"):
        led.add(r, sum(v for (rr, _), v in cells.items() if rr == r))
        led.relate(r, [k for k in cells if k[0] == r])
    for k in ("k1", "k2"):
        led.add(k, sum(v for (_, kk), v in cells.items() if kk == k))
        led.relate(k, [c for c in cells if c[1] == k])
    sysm = AuditSystem(led, 5, True)
    n = len(led)
    check = np.zeros(n, dtype=bool)
    check[:4] = True
    status = np.full(n, SHOWN, dtype=np.int8)
    status[:4] = C
    free = np.zeros(n, dtype=bool)
    assert not sysm.pinned(status, check, exact=True, free=free).any()
    assert free[:4].all() and not free[4:].any()
    assert not sysm.pinned(status, check, exact=True, free=free.copy()).any()
    one = np.full(n, SHOWN, dtype=np.int8)
    one[0] = C
    free = np.zeros(n, dtype=bool)
    assert sysm.pinned(one, check, exact=True, free=free)[0] and not free.any()


def test_candidates_are_tried_hidden_together_first():
    """``first_freeing``: hiding more only loosens what a reader knows, so when all candidates hidden
    together do not free a count, none alone does, and one exact audit answers for them all.

    In ``_four_ones`` the line A → site 0 is 1 whatever "c" is hidden (four "<5" lines, A's total
    "<5"): all ten shown counts hidden at once leave it pinned, so that is the only
    audit run, and each one alone (checked here one by one) indeed leaves it pinned too. In
    12 = 9 + "<5" beside 20 = 10 + 10: hiding the 10 does not free the 3, hiding the 9 does (it can
    be 8 to 11 and the 3 then 1 to 4): all three together free it, then they are tried alone in turn."""
    from hotspots.disclosure_audit import HIDDEN as C
    from hotspots.disclosure_audit import PRIMARY, SHOWN, AuditSystem, first_freeing, index_mask

    def freer(led, small, victim):
        sysm = AuditSystem(led, 5, True)
        n = len(led)
        status = np.full(n, SHOWN, dtype=np.int8)
        status[[led.index(k) for k in small]] = PRIMARY
        calls = []

        def frees(hide):
            calls.append(sorted(led.keys[c] for c in hide))
            trial = status.copy()
            trial[hide] = C
            v = led.index(victim)
            return not sysm.pinned(trial, index_mask([v], n), exact=True, quick=True)[v]
        return frees, calls

    led = _four_ones()
    flows_a = [("flow", "A", s) for s in range(4)]
    frees, calls = freer(led, [("A", "with_site"), *flows_a], ("flow", "A", 0))
    cands = [led.index(k) for k in led.keys if k not in flows_a and k != ("A", "with_site")]
    assert len(cands) == 10
    assert first_freeing(cands, frees) == (None, True)
    assert len(calls) == 1 and len(calls[0]) == 10
    assert not any(frees([c]) for c in cands)  # what the one audit answered for

    led = Ledger()
    for key, v in (("all", 12), ("A", 9), ("B", 3), ("X", 20), ("Y", 10), ("Z", 10)):
        led.add(key, v)
    led.relate("all", ["A", "B"])
    led.relate("X", ["Y", "Z"])
    frees, calls = freer(led, ["B"], "B")
    cands = [led.index(k) for k in ("Y", "A", "all")]
    assert first_freeing(cands, frees) == (led.index("A"), False)
    assert calls == [["A", "Y", "all"], ["Y"], ["A"]]
    # a wider set tried first answers for the candidates too; one candidate that frees is tried once
    frees, calls = freer(led, ["B"], "B")
    assert first_freeing([led.index("Y")], frees, together=cands) == (None, False)
    assert first_freeing([led.index("A")], frees) == (led.index("A"), False) and calls[-1] == ["A"]
    assert len(calls) == 3


def test_the_audit_never_pushes_a_count_past_a_bound_it_sits_on(monkeypatch):
    """A count at its bound on one side (row A's total 4 shown as "<5", so at most 4; a withheld 0,
    so at least 0) cannot move that way: the exact audit does not spend a programme trying, and
    still finds what a reader can work out (the table below: rows A, B, C by columns 1, 2)."""
    from hotspots.disclosure_audit import AuditSystem

    cells = [[2, 2], [6, 15], [0, 15]]
    led = Ledger()
    led.add("T", 40, cost=2)
    for i, row in enumerate(cells):
        led.add(("r", i), sum(row), cost=1)
    for j in range(2):
        led.add(("k", j), sum(row[j] for row in cells), cost=1)
    for i, row in enumerate(cells):
        for j, v in enumerate(row):
            led.add((i, j), v)
    for i in range(3):
        led.relate(("r", i), [(i, j) for j in range(2)])
        led.breakdown(("r", i), [(i, j) for j in range(2)])
    for j in range(2):
        led.relate(("k", j), [(i, j) for i in range(3)])
    led.relate("T", [("r", i) for i in range(3)])
    led.relate("T", [("k", j) for j in range(2)])
    tries, wasted = [], []
    solve = AuditSystem.solve

    def spy(self, cells, rows, fixed_sum, lo, hi, semi, objective, **kw):
        (j,) = np.flatnonzero(objective) if np.count_nonzero(objective) == 1 else (None,)
        if j is not None:
            c = cells[j]
            tries.append(c)
            if self.values[c] == (hi[c] if objective[j] < 0 else lo[c]):
                wasted.append(led.keys[c])
        return solve(self, cells, rows, fixed_sum, lo, hi, semi, objective, **kw)

    monkeypatch.setattr(AuditSystem, "solve", spy)
    p = protect(led)
    assert tries and wasted == []
    assert p.marker(("r", 0)) == "<5" and p.marker((0, 0)) == p.marker((0, 1)) == WITHHELD
    assert _attacker_findings(led, p, 5) == []
