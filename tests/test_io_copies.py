"""hotspots.io.copies: files loaded twice are found per file; ids repeated for other incidents are kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hotspots.io.copies import copy_reason, distinct_ids, file_signature, find_copies, repeated_ids

JUN = 2025 * 12 + 5


def frame(ids, lon=None) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {"Crime ID": ids, "Month": ["2025-06"] * n, "Longitude": lon or ["-1.47"] * n, "Crime type": ["X"] * n}
    )


def sig(df: pd.DataFrame, month=JUN, force="Kent Police") -> dict:
    ids = df["Crime ID"].where(df["Crime ID"] != "")
    return file_signature(df, ids, month, pd.Series([force] * len(df)))


def test_signature_ignores_row_and_column_order_but_not_content():
    df = frame(["", "", ""], lon=["-1.47", "-1.48", "-1.49"])  # no ids (ASB): compared by content
    s = sig(df)
    assert s["given_ids"] == frozenset() and s["main_month"] == JUN and s["main_force"] == "kentpolice"
    assert sig(df.iloc[::-1, ::-1])["digest"] == s["digest"]
    assert sig(frame(["", "", ""], lon=["-1.47", "-1.48", "-1.5"]))["digest"] != s["digest"]
    # a file with ids and a month is compared by them (identical content has the same ids): no hash needed
    with_ids = sig(frame(["a", "b", ""]))
    assert with_ids["given_ids"] == frozenset({"a", "b"}) and with_ids["digest"] is None
    assert sig(frame(["a", "b", ""]), month=None)["digest"] is not None


def test_a_file_whose_crime_ids_were_read_from_the_same_month_and_force_is_a_copy():
    first = sig(frame(["a", "b", "c", "d", ""]))
    resaved = sig(frame(["a", "b", "c", "d", ""], lon=["-1.5"] * 5))  # coordinates rounded: other content, same ids
    assert find_copies([first, resaved]) == {1: (0, "4 of its 4 Crime IDs are in it")}
    # the same ids under another month, compared by ids alone: Northern Ireland gives ids again to other crimes
    assert find_copies([first, sig(frame(["a", "b", "c", "d", ""], lon=["-1.5"] * 5), month=JUN + 1)]) == {}
    assert find_copies([first, sig(frame(["a", "b", "c", "d", ""], lon=["-1.5"] * 5), force="Essex Police")]) == {}
    # half its ids or fewer: a month split in two, or a crime published again, not a copy
    assert find_copies([first, sig(frame(["a", "b", "x", "y"]))]) == {}
    assert find_copies([first, sig(frame(["a", "b", "c", "y"]))]) == {1: (0, "3 of its 4 Crime IDs are in it")}


def test_identical_files_without_ids_are_copies_and_asb_halves_are_not():
    asb = frame([""] * 4)
    assert find_copies([sig(asb), sig(asb)]) == {1: (0, "the same rows")}
    # a month's ASB split in two by rows: identical rows in both halves, but the halves differ
    split = frame([""] * 5, lon=["-1.47", "-1.47", "-1.47", "-1.47", "-1.5"])
    assert find_copies([sig(split.iloc[[0, 2, 4]]), sig(split.iloc[[1, 3]])]) == {}


def test_the_file_with_police_uks_own_name_is_the_original():
    same = sig(frame(["a", "b"]))
    names = ["2025-06-kent-street (1).csv", "2025-06-kent-street.csv"]
    ids = "2 of its 2 Crime IDs are in it"
    assert find_copies([same, same], names) == {0: (1, ids)}
    assert find_copies([same, same], ["x.csv", "y.csv"]) == {1: (0, ids)}
    assert find_copies([same, same, same]) == {1: (0, ids), 2: (0, ids)}
    assert copy_reason("a.csv") == "copy of a.csv (same month loaded twice)"


def test_repeated_ids_by_incident_keep_other_months_and_types_and_never_drop_derived_ids():
    df = pd.DataFrame(
        {
            "incident_id": ["a", "a", "a", "a", "asb-1", "asb-1"],
            "month": pd.to_datetime(["2025-04-01", "2025-04-01", "2025-11-01", "2025-04-01", "2025-04-01", "2025-04-01"]),
            "category": ["Violence", "Violence", "Shoplifting", "Drugs", "ASB", "ASB"],
            "_given": [True, True, True, True, False, False],
        }
    )
    alive = np.ones(len(df), dtype=bool)
    dup, other = repeated_ids(df, "incident_id", alive, by_incident=True)
    assert dup.tolist() == [False, True, False, False, False, False]
    # other months or types, and a derived id (identical ASB rows in two files), are other incidents
    assert other.tolist() == [False, False, True, True, False, True]
    dup, other = repeated_ids(df, "incident_id", alive, by_incident=False)  # other loaders: an id is an incident
    assert dup.tolist() == [False, True, True, True, False, False] and other.tolist() == [False] * 5 + [True]
    dup, _ = repeated_ids(df, "incident_id", np.array([False, True, True, True, True, True]), by_incident=True)
    assert not dup[1]  # the first copy was dropped already: the second is the one kept


def test_distinct_ids_number_the_repeats_in_order():
    ids = pd.Series(["a", "a", "b", "a"], dtype="str")
    out = distinct_ids(ids, np.array([False, True, False, True]))
    assert out.tolist() == ["a", "a#2", "b", "a#3"] and out.is_unique and str(out.dtype) == str(ids.dtype)
    assert distinct_ids(ids, np.zeros(4, dtype=bool)) is ids


def test_a_signature_is_never_copied_with_its_frames_attrs():
    """pandas deep-copies a frame's attrs on every operation: a single 180,000-row file took 44 s
    instead of 10 s while its 150,000 Crime IDs were copied each time."""
    import copy

    s = sig(frame(["a", "b"]))
    assert copy.deepcopy(s) is s and copy.deepcopy({"signature": s})["signature"] is s
    assert s == s and s != sig(frame(["a", "b"]))  # by identity: cheap when pandas compares attrs
    df = frame(["a"])
    df.attrs["signature"] = s
    assert df.reset_index(drop=True).attrs["signature"] is s


def msig(df: pd.DataFrame, month=JUN, place=None) -> dict:
    ids = df["Crime ID"].where(df["Crime ID"] != "")
    keys = df["Crime ID"] + "|" + df["Crime type"] + "|" + (place or "On or near X")
    return file_signature(df, ids, month, pd.Series(["Kent Police"] * len(df)), row_keys=keys)


def test_a_months_rows_saved_under_another_month_are_a_copy_and_ids_given_again_to_other_crimes_are_not():
    june = frame(["a", "b", "c", "d"])
    why = "all 4 of its rows with a Crime ID are in it (id, crime type and location), under another month"
    assert find_copies([msig(june), msig(june.assign(Month="2027-06"), month=JUN + 24)]) == {1: (0, why)}
    # Northern Ireland: the same ids for other crimes (other places) in another month: not a copy
    assert find_copies([msig(june), msig(june.assign(Month="2025-07"), month=JUN + 1, place="On or near Y")]) == {}


def test_a_file_without_months_left_is_never_the_original_and_its_reason_says_another_month():
    # 1925-06 (every row out of range: no main month) comes first, but the file with months is the original
    old, real = msig(frame(["a", "b", "c"]).assign(Month="1925-06"), month=None), msig(frame(["a", "b", "c"]))
    found = find_copies([old, real], ["1925-06-kent-street.csv", "2025-06-kent-street.csv"])
    assert list(found) == [0] and found[0][0] == 1 and found[0][1].endswith("under another month")
    reason = copy_reason("2025-06-kent-street.csv", found[0][1])
    assert reason == "copy of 2025-06-kent-street.csv (its rows, under another month)"
    assert copy_reason("x.csv", "3 of its 3 Crime IDs are in it") == "copy of x.csv (same month loaded twice)"
