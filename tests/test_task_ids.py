"""Tests for hotspots.task_ids: task ids that differ only in case."""

from __future__ import annotations

import pandas as pd

from hotspots.io import load_tasks
from hotspots.task_ids import case_only_matches_note, case_variants, case_variants_warning


def test_case_variants_groups_ids_equal_but_for_case_and_spaces() -> None:
    assert case_variants(["T03", "t03", "T01", " T03 ", None, "a", "A", "B"]) == [["A", "a"], ["T03", "t03"]]
    assert case_variants(["T01", "T02", "T01"]) == []
    told = case_variants_warning(["T03", "t03", "T01"], "tasks.csv")
    assert told is not None and told.startswith("tasks.csv: 1 task id(s) differ from another only in case ('T03' and 't03')")
    assert case_variants_warning(["T01", "T02"]) is None


def test_a_referral_matching_a_site_only_when_case_is_ignored_is_counted_and_named() -> None:
    note = case_only_matches_note(["t01", "T02", None, "T9", "t01"], {"T01": 0, "T02": 1})
    assert note is not None and note.startswith("2 referral(s) name a task_id that matches a task site only when case")
    assert "'t01' (site 'T01')" in note and "T9" not in note
    assert case_only_matches_note(["T01", None], ["T01"]) is None


def test_the_task_loader_warns_about_ids_differing_only_in_case() -> None:
    df = pd.DataFrame({"task_id": ["T03", "t03", "T04"], "kind": ["litter pick"] * 3,
                       "longitude": [-2.74, -2.75, -2.76], "latitude": [53.45, 53.45, 53.45]})
    data, report = load_tasks(df)
    assert sorted(data["task_id"]) == ["T03", "T04", "t03"]  # kept as different sites
    assert sum("differ from another only in case ('T03' and 't03')" in w for w in report.warnings) == 1
    _, report = load_tasks(df.assign(task_id=["T03", "T05", "T04"]))
    assert not any("only in case" in w for w in report.warnings)
