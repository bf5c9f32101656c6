import numpy as np
import pytest

from hotspots import HotspotsError, LoadReport
from hotspots.report import MAX_EXAMPLES, ReportBuilder


def test_builder_counts_each_row_once_for_its_first_reason():
    b = ReportBuilder("a.csv", 6)
    b.drop(np.array([1, 1, 0, 0, 0, 0], bool), "no location")
    b.drop(np.array([0, 1, 1, 0, 0, 0], bool), "bad date")  # row 2 already dropped
    r = b.build()
    assert r.rows_read == 6 and r.rows_kept == 3
    assert r.dropped == {"no location": 2, "bad date": 1}
    assert r.examples["no location"] == ["a.csv:row 1", "a.csv:row 2"]
    assert r.examples["bad date"] == ["a.csv:row 3"]


def test_unparsed_rows_count_as_read_and_dropped():
    b = ReportBuilder("a.csv", 2)
    b.drop_unparsed(3, "malformed line", ["a.csv:line 9"])
    r = b.build()
    assert (r.rows_read, r.rows_kept, r.rows_dropped) == (5, 2, 3)


def test_examples_are_capped():
    b = ReportBuilder("a.csv", 20)
    b.drop(np.ones(20, bool), "x")
    assert len(b.build().examples["x"]) == MAX_EXAMPLES


def test_report_refuses_counts_that_do_not_add_up():
    with pytest.raises(HotspotsError, match="does not add up"):
        LoadReport("a", rows_read=3, rows_kept=2, dropped={})


def test_combine_adds_files_and_extra_drops():
    a = LoadReport("a", 3, 2, {"no location": 1}, {"no location": ["a:row 1"]})
    b = LoadReport("b", 4, 4)
    c = LoadReport.combine([a, b], "both", extra_dropped={"duplicate id": 1}, rows_kept=5)
    assert (c.rows_read, c.rows_kept, c.rows_dropped) == (7, 5, 2)
    assert c.dropped == {"no location": 1, "duplicate id": 1}
    assert [f.source for f in c.files] == ["a", "b"]
    assert "read 7" in c.summary() and "duplicate id: 1" in str(c)


def test_unrecognised_values_are_counted_over_kept_rows_and_combined():
    from hotspots.io.cache import report_from_dict

    b = ReportBuilder("a.csv", 4)
    b.unrecognised("outcome", ["DNC", "DNC", "done", "x"], np.array([True, True, False, True]))
    b.drop(np.array([False, True, False, False]), "no location")
    r = b.build()
    assert r.unrecognised == {"outcome": {"DNC": 1, "x": 1}}  # the dropped row is not counted
    b2 = ReportBuilder("b.csv", 2)
    b2.unrecognised("outcome", ["DNC", "ok"], np.array([True, False]))
    both = LoadReport.combine([r, b2.build()])
    assert both.unrecognised == {"outcome": {"DNC": 2, "x": 1}}
    assert report_from_dict(both.to_dict()).unrecognised == both.unrecognised


def test_dropped_rows_are_counted_by_category_and_reason():
    """South Yorkshire's 814 Public order rows without a location were lost in the load line's 8,069."""
    b = ReportBuilder("f.csv", 6)
    b.group_by(np.array(["Public order", "Public order", "ASB", "ASB", "Public order", "ASB"], dtype=object))
    b.drop(np.array([True, False, True, False, False, False]), "no location")
    b.drop(np.array([True, True, False, False, False, True]), "duplicate id")  # row 0 already dropped: counted once
    r = b.build()
    assert r.dropped_by_category == {"Public order": {"no location": 1, "duplicate id": 1},
                                     "ASB": {"no location": 1, "duplicate id": 1}}
    assert r.to_dict()["dropped_by_category"] == r.dropped_by_category
    both = LoadReport.combine([r, r])
    assert both.dropped_by_category["Public order"] == {"no location": 2, "duplicate id": 2}
    # a loader that groups nothing reports nothing (and no key in the JSON)
    plain = ReportBuilder("g.csv", 2)
    plain.drop(np.array([True, False]), "no location")
    assert plain.build().dropped_by_category == {} and "dropped_by_category" not in plain.build().to_dict()
    with pytest.raises(HotspotsError):
        plain.group_by(["a"])


def test_dropped_text_is_the_one_wording_of_drops_for_the_cli_and_the_app():
    from hotspots.report import dropped_text

    assert dropped_text(14, {"empty row": 1, "no location": 10, "duplicate row": 3}) == (
        "dropped 14 (no location: 10; duplicate row: 3; empty row: 1)")
    assert dropped_text("–", {"no location": "10", "duplicate row": "<5"}) == "dropped – (no location: 10; duplicate row: <5)"
    assert dropped_text(0, {}) == "dropped 0"
    b = ReportBuilder("f.csv", 4)
    b.drop(np.array([True, False, True, False]), "no location")
    assert b.build().summary() == "f.csv: read 4, kept 2, dropped 2 (no location: 2)"


def test_child_builder_and_drop_reasons():
    b = ReportBuilder("f.csv", 4)
    b.drop(np.array([True, False, False, False]), "empty row")
    c = b.child(np.array([True, True, True, False]))
    assert c.alive.tolist() == [False, True, True, False]  # the parent's drops stay dropped
    c.drop(np.array([False, True, False, True]), "no location")
    assert c.drop_reasons().tolist() == ["", "no location", "", ""]
    assert b.drop_reasons().tolist() == ["empty row", "", "", ""]


def test_drops_made_after_combining_files_are_counted_by_category_too():
    # duplicate ids across files and copies of a month were in the load line, not in the category's line
    from hotspots.report import with_category_drops

    r = LoadReport("2 files", 6, 4, dropped={"no location": 1, "duplicate id": 1},
                   dropped_by_category={"ASB": {"no location": 1}})
    cats = np.array(["ASB", "ASB", "Burglary", "ASB", "Burglary"], dtype=object)  # the 5 rows that were combined
    out = with_category_drops(r, cats, [("duplicate id", np.array([False, True, False, False, False])),
                                        ("copy of a month", np.array([False, False, True, False, False]))])
    assert out.dropped_by_category == {"ASB": {"no location": 1, "duplicate id": 1}, "Burglary": {"copy of a month": 1}}
    assert r.dropped_by_category == {"ASB": {"no location": 1}}  # the caller's report is left alone
