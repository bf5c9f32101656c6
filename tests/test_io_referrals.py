"""Tests for hotspots.io.referrals: enums, booleans, dates, privacy rules, drops."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import check_result, load_csv

from hotspots import InputError, ParameterError, PrivacyError, SchemaError
from hotspots.io import ReferralSet, Upload, date_order_warning, load_any, load_referrals
from hotspots.privacy import PERSON_REF_PATTERN, pseudonymise
from hotspots.schema import AGE_GROUPS, OFFENCES, OUTCOMES, REFERRAL_COLUMNS, ROUTES

SALT = "a-long-secret-salt-for-tests"


def good(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "referral_id": [f"IJ-{i:03d}" for i in range(n)],
            "person_ref": [pseudonymise(f"person{i}", SALT) for i in range(n)],
            "referred_at": ["2024-10-01 10:00"] * n,
            "offence": (["ASB", "shoplifting", "Criminal Damage", "drunk & disorderly"] * n)[:n],
            "route": (["CR", "ABC", "vco", "Conditional Caution"] * n)[:n],
            "age_group": (["Youth", "adult", "", "juvenile"] * n)[:n],
            "contacted_at": (["2024-10-02 09:00", "", "2024-10-01 08:00", "02/10/2024"] * n)[:n],
            "task_booked_at": [""] * n,
            "outcome": (["Completed", "refused", "in progress", ""] * n)[:n],
            "task_id": (["T1", "", "T2", "T3"] * n)[:n],
            "reoffended": (["no", "Y", "", "0"] * n)[:n],
            "victim_satisfied": (["TRUE", "false", "1", ""] * n)[:n],
            "first_time_entrant": (["yes", "no", "n", "True"] * n)[:n],
            "longitude": [-1.4746, -1.4216, -1.9110, -1.3000][:n] + [-1.47] * max(0, n - 4),
            "latitude": [52.9225, 53.2350, 53.2587, 52.9800][:n] + [52.92] * max(0, n - 4),
        }
    )


def check(result: ReferralSet) -> None:
    check_result(result, "referral_id")
    data, _ = result
    assert list(data.columns) == list(REFERRAL_COLUMNS) or list(data.columns) == list(REFERRAL_COLUMNS[:-1]) + [
        "in_study_area",
        "geometry",
    ]
    assert data["referral_id"].is_unique
    assert data["offence"].isin(OFFENCES).all() and data["route"].isin(ROUTES).all()
    assert data["age_group"].dropna().isin(AGE_GROUPS).all() and data["outcome"].dropna().isin(OUTCOMES).all()
    assert data["person_ref"].dropna().str.match(PERSON_REF_PATTERN.pattern).all()


def test_good_file_normalises_enums_booleans_and_dates(tmp_path: Path) -> None:
    result = load_csv(load_referrals, good(), tmp_path / "referrals.csv")
    check(result)
    data, report = result
    assert report.rows_kept == 4 and report.rows_dropped == 0
    assert data["offence"].tolist() == ["anti-social behaviour", "shop theft", "criminal damage", "drunk and disorderly"]
    assert data["route"].tolist() == [
        "community resolution",
        "acceptable behaviour contract",
        "voluntary control order",
        "conditional caution",
    ]
    assert (
        data["age_group"].tolist()[:2] == ["youth", "adult"]
        and pd.isna(data["age_group"].iloc[2])
        and data["age_group"].iloc[3] == "youth"
    )
    assert data["outcome"].tolist()[:3] == ["completed", "refused", "in progress"] and pd.isna(data["outcome"].iloc[3])
    assert data["reoffended"].tolist()[:2] == [False, True] and pd.isna(data["reoffended"].iloc[2])
    assert bool(data["reoffended"].iloc[3]) is False
    assert data["victim_satisfied"].tolist()[:3] == [True, False, True]
    assert data["first_time_entrant"].tolist() == [True, False, False, True]
    assert str(data["reoffended"].dtype) == "boolean"
    assert data["referred_at"].iloc[0] == pd.Timestamp("2024-10-01 10:00")
    assert data["contacted_at"].iloc[3] == pd.Timestamp("2024-10-02")  # UK day-first
    assert pd.isna(data["contacted_at"].iloc[1]) and data["task_booked_at"].isna().all()
    assert str(data["referred_at"].dtype) == "datetime64[ns]"
    assert data["task_id"].tolist()[0] == "T1" and pd.isna(data["task_id"].iloc[1])
    # One referral was contacted before it was referred: a warning, not a drop.
    assert any("1 referral(s) have `contacted_at` before `referred_at`" in w for w in report.warnings)


def test_unknown_enum_and_boolean_values_keep_the_referral_with_the_field_not_recorded() -> None:
    """A referral is a person whatever one field says: an unrecognised value ("lost" for an outcome)
    leaves that field missing and is counted in a warning, the row is kept."""
    unknown = {"offence": "burglary", "route": "prison", "outcome": "lost", "reoffended": "maybe"}
    df = good()
    for row, (column, value) in enumerate(unknown.items()):  # one bad value in each of rows 0-3
        df.loc[row, column] = value
    df.loc[1, "outcome"] = "lost"  # two rows with the same unrecognised outcome
    data, report = load_referrals(df)
    assert report.dropped == {} and report.rows_kept == 4
    for row, column in enumerate(unknown):
        assert pd.isna(data[column].iloc[row]), column
    assert any("'burglary' in 1 row" in w and "allowed:" in w and "offence not recorded" in w for w in report.warnings)
    assert any("'lost' in 2 rows" in w and "outcome not recorded (the rows are kept)" in w for w in report.warnings)
    assert any("'maybe' in 1 row" in w for w in report.warnings)


def test_required_values_dates_location_and_duplicates() -> None:
    df = good(8)
    df.loc[1, "offence"] = ""  # missing offence: kept, offence not recorded
    df.loc[2, "referred_at"] = "not a date"  # unparseable date
    df.loc[3, "referred_at"] = ""  # missing date
    df.loc[4, "longitude"] = np.nan  # no location
    df.loc[5, "referral_id"] = "IJ-000"  # duplicate id
    df.loc[6, "contacted_at"] = "31/31/2024"  # unparseable contacted_at
    df.loc[7, "task_booked_at"] = "1970-01-01"  # out of range
    data, report = load_referrals(df)
    assert report.dropped == {"unparseable date": 1, "missing date": 1, "no location": 1, "duplicate id": 1}
    # a bad contact or booking time keeps the referral, with that field blank, counted in a warning
    assert sorted(data["referral_id"].tolist()) == ["IJ-000", "IJ-001", "IJ-006", "IJ-007"]
    kept = data.set_index("referral_id")
    assert pd.isna(kept.loc["IJ-006", "contacted_at"]) and pd.isna(kept.loc["IJ-007", "task_booked_at"])
    assert any("1 `contacted_at` value(s) unparseable, e.g. '31/31/2024'" in w and "contacted_at not recorded" in w
               for w in report.warnings)
    assert any("1 `task_booked_at` value(s) out of range" in w for w in report.warnings)
    assert pd.isna(data.set_index("referral_id").loc["IJ-001", "offence"])
    assert any("1 row(s) without a `offence` value: kept, with offence not recorded" in w for w in report.warnings)
    # the later row of a repeated id is kept (an export's later row is the update): row 1 is dropped
    assert report.examples["duplicate id"] == ["DataFrame:row 1"]
    assert any("rows repeating a `referral_id` in a file: the last of them is kept" in n for n in report.notes)
    assert any("1 row(s) of the 1 row(s) dropped as 'duplicate id' differ from the row kept" in w for w in report.warnings)


def test_identifying_columns_are_refused_or_dropped() -> None:
    df = good()
    df["Surname"] = ["Smith", "Jones", "Brown", "Green"]
    df["DOB"] = ["2001-01-01"] * 4
    with pytest.raises(PrivacyError) as err:
        load_referrals(df)
    msg = str(err.value)
    assert "`Surname` (name)" in msg and "`DOB` (date of birth)" in msg and "allow_identifying" in msg
    assert "Smith" not in msg
    with pytest.raises(PrivacyError, match="DOB"):
        load_referrals(df, allow_identifying=["Surname"])
    data, report = load_referrals(df, allow_identifying=["Surname", "DOB"])
    assert "Surname" not in data.columns and "DOB" not in data.columns
    assert not any("Smith" in str(v) for v in data.astype(str).to_numpy().ravel())
    assert any("dropped identifying column(s)" in n for n in report.notes)
    # True drops every column the rule finds (the app's checkbox), and the note names the control
    data, report = load_referrals(df.assign(phone="0"), allow_identifying=True)
    assert not {"Surname", "DOB", "phone"} & set(data.columns) and len(data) == 4
    assert any(n.startswith("dropped identifying column(s) `Surname`, `DOB`, `phone` on load (\"Drop columns that look like")
               and "`allow_identifying=True`" in n for n in report.notes)
    with pytest.raises(PrivacyError):
        load_referrals(df, allow_identifying=False)
    with pytest.raises(ParameterError, match="`allow_identifying` must be a list of column names or True"):
        load_referrals(df, allow_identifying="Surname")


def test_raw_person_refs_are_refused_unless_salted() -> None:
    df = good()
    df["person_ref"] = ["PNC123", "PNC456", "PNC123", ""]
    with pytest.raises(PrivacyError) as err:
        load_referrals(df)
    assert "PNC123" not in str(err.value) and "rows 1, 2, 3" in str(err.value) and "`salt=` pseudonymises" in str(err.value)
    data, report = load_referrals(df, salt=SALT)
    assert data["person_ref"].tolist()[:3] == [
        pseudonymise("PNC123", SALT),
        pseudonymise("PNC456", SALT),
        pseudonymise("PNC123", SALT),
    ]
    assert pd.isna(data["person_ref"].iloc[3])
    assert any("pseudonymised on load" in n for n in report.notes)
    with pytest.raises(ParameterError, match="salt"):
        load_referrals(df, salt="short")


def test_missing_required_column_and_optional_columns() -> None:
    with pytest.raises(SchemaError, match=r"`route`.*Columns present"):
        load_referrals(good().drop(columns="route"))
    minimal = good()[["referred_at", "offence", "route", "longitude", "latitude"]]
    data, report = load_referrals(minimal)
    assert len(data) == 4 and data["referral_id"].str.startswith("ref-").all()
    assert data["outcome"].isna().all() and data["reoffended"].isna().all()
    assert any("optional column(s) absent" in n for n in report.notes)
    again, _ = load_referrals(minimal)
    assert again["referral_id"].tolist() == data["referral_id"].tolist()


def test_synonym_column_names_and_mapping() -> None:
    df = good().rename(
        columns={
            "referred_at": "Referral Date",
            "offence": "Offence Type",
            "route": "Disposal",
            "longitude": "Easting",
            "latitude": "Northing",
        }
    )
    import pyproj

    e, n = pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(good()["longitude"], good()["latitude"])
    df["Easting"], df["Northing"] = e, n
    data, _ = load_referrals(df)
    assert len(data) == 4
    df2 = good().rename(columns={"route": "how"})
    data2, _ = load_referrals(df2, columns={"route": "how"})
    assert data2["route"].iloc[1] == "acceptable behaviour contract"


def test_upload_and_load_any(tmp_path: Path) -> None:
    buf = io.BytesIO()
    good().to_csv(buf, index=False)
    data, report = load_any(Upload("ref.csv", buf.getvalue()), kind="referrals")
    assert report.rows_kept == 4 and report.source == "ref.csv"
    with pytest.raises(InputError, match="empty"):
        load_referrals(Upload("ref.csv", b""))


def test_study_area_and_drop_outside() -> None:
    import shapely

    area = shapely.Point(435_000, 336_000).buffer(5_000)  # around Derby: only the first referral
    data, report = load_referrals(good(), study_area=area)
    assert data["in_study_area"].tolist() == [True, False, False, False]
    d2, r2 = load_referrals(good(), study_area=area, drop_outside=True)
    assert r2.dropped == {"outside study area": 3} and len(d2) == 1


# ---------------------------------------------------------------------------- tester's report C1


def test_usual_non_completion_and_withdrawal_spellings_are_recognised() -> None:
    df = good(8)
    df["outcome"] = ["Not completed", "Did not complete", "Failed", "Non-compliant", "Breached", "Withdrawn by police",
                     "withdrawn by victim", "Completed"]
    data, report = load_referrals(df)
    assert data["outcome"].tolist() == ["refused"] * 5 + ["withdrawn", "withdrawn", "completed"]
    assert report.unrecognised.get("outcome") is None
    assert not any("not recognised" in w for w in report.warnings)


def test_unrecognised_outcomes_are_counted_and_named_for_the_completion_rate() -> None:
    from hotspots.io import unrecognised_outcomes_text

    df = good(8)
    df["outcome"] = ["DNC-X"] * 6 + ["zz", "completed"]
    data, report = load_referrals(df)
    assert report.unrecognised["outcome"] == {"DNC-X": 6, "zz": 1}
    text = unrecognised_outcomes_text(report)
    # 7 in all, shown exactly; a per-value count of 1 would be shown, so no per-value counts at all
    assert text.startswith("7 referral outcome(s) were not recognised ('DNC-X', 'zz')")
    assert "left out of the completion rate" in text and "(6)" not in text
    small = load_referrals(good(4).assign(outcome=["zz", "completed", "completed", "completed"])).report
    assert unrecognised_outcomes_text(small).startswith("fewer than 5 referral outcome(s) were not recognised ('zz')")
    assert unrecognised_outcomes_text(load_referrals(good()).report) == ""
    big = load_referrals(good(12).assign(outcome=["aa"] * 6 + ["bb"] * 6)).report
    assert "'aa' (6), 'bb' (6)" in unrecognised_outcomes_text(big)


def test_unrecognised_counts_leave_out_rows_dropped_later() -> None:
    df = good(4)
    df["outcome"] = ["zz", "zz", "completed", "completed"]
    df.loc[1, "longitude"] = np.nan  # dropped as no location: not among the referrals left out of the rate
    _, report = load_referrals(df)
    assert report.unrecognised["outcome"] == {"zz": 1}


def test_repeated_id_keeps_the_later_row_and_counts_rows_that_differ() -> None:
    df = good(4)
    df["referral_id"] = ["A", "B", "A", "B"]
    df["outcome"] = ["in progress", "completed", "completed", "completed"]
    df["person_ref"] = [df["person_ref"][0], df["person_ref"][1], df["person_ref"][0], df["person_ref"][1]]
    df.loc[3, ["offence", "route", "age_group", "contacted_at", "reoffended", "victim_satisfied", "first_time_entrant",
               "task_id", "longitude", "latitude"]] = df.loc[1, ["offence", "route", "age_group", "contacted_at", "reoffended",
                                                                 "victim_satisfied", "first_time_entrant", "task_id",
                                                                 "longitude", "latitude"]].to_numpy()
    data, report = load_referrals(df)
    # row 1 (A) differs from row 3: a repeated id; row 2 (B) is the same as row 4: an exact copy, not a person
    assert report.dropped == {"duplicate row": 1, "duplicate id": 1}
    assert report.examples == {"duplicate row": ["DataFrame:row 2"], "duplicate id": ["DataFrame:row 1"]}
    assert data.set_index("referral_id").loc["A", "outcome"] == "completed"  # the update, not the stale first row
    assert any("1 row(s) of the 1 row(s) dropped as 'duplicate id' differ from the row kept for their `referral_id` (the later "
               "one)" in w for w in report.warnings)
    # on screen, counts of people are protected: neither the 1 nor the 2 is shown exactly (the app's Data tab
    # showed "1 of the <5 row(s) ...")
    from hotspots.app_support import person_text

    shown = [person_text(w) for w in report.warnings if "dropped as 'duplicate id' differ" in w]
    assert shown and shown[0].startswith("<5 row(s) of the <5 row(s) dropped as 'duplicate id' differ")


def test_excel_serial_dates_are_read_with_a_warning() -> None:
    df = good(4)
    df["referred_at"] = ["45842.34514", "45661", "2024-10-01 10:00", "12345"]
    data, report = load_referrals(df)
    assert data["referred_at"].tolist()[:3] == [pd.Timestamp("2025-07-04 08:17"), pd.Timestamp("2025-01-04"),
                                                pd.Timestamp("2024-10-01 10:00")]
    assert report.dropped == {"unparseable date": 1}  # 12345 is below the plausible range
    assert any(w.startswith("2 `referred_at` value(s) are plain numbers read as Excel serial day numbers (1900 date "
                            "system), e.g. 45842.34514 read as 2025-07-04 08:17") for w in report.warnings)


def test_empty_rows_unused_columns_and_future_dates() -> None:
    df = good(4).astype(object)
    df["case_notes"] = "x"
    df.loc[2] = [""] * len(df.columns)  # a line of only commas
    df.loc[3, "referred_at"] = (pd.Timestamp.now().normalize() + pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    data, report = load_referrals(df)
    assert report.dropped == {"empty row": 1}
    assert report.examples["empty row"] == ["DataFrame:row 3"]
    assert not any("stable ids" in n for n in report.notes)  # the empty row needed no id
    assert any(n.startswith("column(s) not used: `case_notes`") for n in report.notes)
    assert any(w.startswith("1 referral(s) have a `referred_at` after today") and "row 4" in w for w in report.warnings)


def test_upper_case_hex_person_refs_are_pseudonyms() -> None:
    df = good()
    refs = df["person_ref"].tolist()
    df["person_ref"] = [refs[0].upper(), refs[1], refs[0], refs[3].upper()]
    data, report = load_referrals(df)
    assert data["person_ref"].tolist() == [refs[0], refs[1], refs[0], refs[3]]
    assert any("2 `person_ref` value(s) written in upper case read in lower case" in n for n in report.notes)


def test_privacy_fixes_name_what_exists_where_the_user_is() -> None:
    from hotspots.validation import argument_names

    df = good()
    df["Offender Name"] = ["Smith", "Jones", "Brown", "Green"]
    with pytest.raises(PrivacyError) as err:
        load_referrals(df)
    # the app's control is named (the app and Python share messages), then the Python forms
    from hotspots.io.referrals import DROP_IDENTIFYING_CONTROL

    assert (f'Remove the column(s) from the file and load it again, or tick "{DROP_IDENTIFYING_CONTROL}" by the referral '
            "upload in the app (in Python, `allow_identifying=['Offender Name']` or `allow_identifying=True`)") in str(err.value)
    with argument_names({"allow_identifying": "--drop-identifying"}), pytest.raises(PrivacyError) as err:
        load_referrals(df)
    assert "add `--drop-identifying 'Offender Name'` to the command" in str(err.value)
    assert "allow_identifying" not in str(err.value)
    raw = good().assign(person_ref=["PNC1", "PNC2", "PNC3", "PNC4"])
    with argument_names({"allow_identifying": "--drop-identifying"}), pytest.raises(PrivacyError) as err:
        load_referrals(raw)
    msg = str(err.value)
    assert "salt=" not in msg and "--drop-identifying" not in msg and "'p_' + 16 hex digits" in msg
    assert "hotspots.privacy.pseudonymise(value, salt)" in msg and "then load the file again" in msg


def test_an_id_repeated_in_a_later_file_keeps_the_later_files_row(tmp_path: Path) -> None:
    first, second = good(2), good(2)
    second["referral_id"] = ["IJ-001", "IJ-777"]
    second.loc[0, "outcome"] = "withdrawn"  # the update of IJ-001 (first file: refused)
    first.to_csv(tmp_path / "a.csv", index=False)
    second.to_csv(tmp_path / "b.csv", index=False)
    data, report = load_referrals([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert report.dropped == {"duplicate id": 1} and report.examples["duplicate id"] == ["a.csv:line 3"]
    assert data.set_index("referral_id").loc["IJ-001", "outcome"] == "withdrawn"
    assert any("a later file repeats; the later file's row is kept" in w for w in report.warnings)
    assert [f.rows_kept for f in report.files] == [1, 2]  # each file's line adds up


def test_outcomes_read_as_refused_or_withdrawn_are_said_without_counts():
    from hotspots.io.referrals import recoded_outcomes_note

    raw = pd.Series(["Not completed", "Did not complete", "refused", "Complete", "Withdrawn by police", None])
    read = pd.Series(["refused", "refused", "refused", "completed", "withdrawn", None])
    note = recoded_outcomes_note(raw, read)
    assert note == (
        "outcome values read as a category they mean: 'Did not complete', 'Not completed' read as 'refused' (ended "
        "without the task done through the person's own doing: refused, did not complete, failed); 'Withdrawn by police' "
        "read as 'withdrawn' (ended by the police, the victim or the scheme)"
    )
    assert recoded_outcomes_note(raw[2:4], read[2:4]) == ""  # a category's own name, or a spelling of completed
    assert recoded_outcomes_note(raw, read, alive=np.array([False, False, True, True, False, True])) == ""


def test_a_numeric_age_column_gives_the_age_group_and_is_not_kept() -> None:
    # Cleveland's file had `age` and no age group: every age-group KPI read "not recorded".
    df = good(6).drop(columns="age_group").assign(Age=["14", 17.5, 18, "39", "", "old"])
    data, report = load_referrals(df)
    assert data["age_group"].tolist()[:4] == ["youth", "youth", "adult", "adult"]
    assert data["age_group"].iloc[4:].isna().all()
    assert "Age" not in data.columns and "age" not in data.columns  # the ages themselves are never kept
    read = "`age_group` read from the ages in `Age`: under 18 is youth, 18 and over adult"
    assert any(n.startswith(read) for n in report.notes)
    assert not any("age_group" in n and "absent" in n for n in report.notes)
    assert not any("`Age`" in n and "not used" in n for n in report.notes)
    assert any(w.startswith("1 row(s) with a `Age` that is not an age in years") for w in report.warnings)
    assert not any("old" in w or "39" in w for w in report.warnings + report.notes)  # no value is repeated
    # an age-group column holding numbers is read as ages too; one holding groups is not
    data2, _ = load_referrals(good(2).assign(age_group=[12, 40]))
    assert data2["age_group"].tolist() == ["youth", "adult"]
    data3, report3 = load_referrals(good(2).assign(age=[40, 12]))  # the groups given win over the ages
    assert data3["age_group"].tolist() == ["youth", "adult"] and not any("read from the ages" in n for n in report3.notes)


def test_age_groups_from_ages_by_hand() -> None:
    from hotspots.io.referrals import age_groups_from_ages

    groups, bad = age_groups_from_ages([0, 17.99, 18, 120, 121, -1, None, "", "12 years"])
    assert groups.tolist()[:4] == ["youth", "youth", "adult", "adult"] and groups.iloc[4:].isna().all()
    assert bad.tolist() == [False, False, False, False, True, True, False, False, True]


def test_us_dates_are_read_month_first_when_the_values_say_so_and_said() -> None:
    """A US export (10/16/2025) is read month first in every date column, 10/03/2025 as 3 Oct, with a warning."""
    df = good(3)
    df["referred_at"] = ["10/16/2025 12:17", "10/03/2025 17:27", "01/02/2025"]
    df["contacted_at"] = ["10/16/2025 22:17", "10/04/2025 13:27", ""]  # no second number over 12 in row 1
    data, report = load_referrals(df)
    assert report.rows_kept == 3
    assert data["referred_at"].tolist() == [pd.Timestamp("2025-10-16 12:17"), pd.Timestamp("2025-10-03 17:27"),
                                            pd.Timestamp("2025-01-02")]
    assert data["contacted_at"].iloc[1] == pd.Timestamp("2025-10-04 13:27")
    (w,) = [w for w in report.warnings if "month first" in w]
    assert "`referred_at`, `contacted_at`" in w and "e.g. `referred_at` 10/16/2025 12:17 at row 1" in w
    assert date_order_warning(report) == w  # the one warning the CLI prints from the report (it holds no count)


def test_uk_dates_stay_day_first_and_ambiguous_files_are_read_day_first() -> None:
    df = good(2)
    df["referred_at"] = ["16/10/2025", "03/10/2025"]
    data, report = load_referrals(df)
    assert data["referred_at"].tolist() == [pd.Timestamp("2025-10-16"), pd.Timestamp("2025-10-03")]
    assert not any("month first" in w for w in report.warnings)
    df["referred_at"] = ["01/10/2025", "03/10/2025"]  # no evidence either way: UK usage
    assert load_referrals(df).data["referred_at"].tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2025-10-03")]


def test_dates_with_both_day_month_orders_are_refused_naming_the_columns_and_rows() -> None:
    df = good(3)
    df["referred_at"] = ["16/10/2025", "03/10/2025", "01/01/2025"]  # row 0: day first
    df["contacted_at"] = ["", "10/17/2025", ""]  # row 1: month first
    with pytest.raises(SchemaError) as e:
        load_referrals(df)
    msg = str(e.value)
    assert "`referred_at` day first (first number over 12) at rows 1" in msg
    assert "`contacted_at` month first (second number over 12) at rows 2" in msg and "YYYY-MM-DD" in msg


def test_victim_satisfaction_words_are_recognised() -> None:
    """"Satisfied" / "Not satisfied" (a survey's wording) count as yes/no, not as unrecognised values."""
    df = good(8)
    df["victim_satisfied"] = ["Satisfied", "Not satisfied", "Dissatisfied", "very satisfied", "VERY DISSATISFIED",
                              "yes", "No", "neither satisfied nor dissatisfied"]
    data, report = load_referrals(df)
    assert data["victim_satisfied"].tolist()[:7] == [True, False, False, True, False, True, False]
    assert pd.isna(data["victim_satisfied"].iloc[7])
    assert any("'neither satisfied nor dissatisfied' in 1 row" in w for w in report.warnings)
    df["reoffended"] = ["re-offended", "did not reoffend", "yes", "no", "", "", "", ""]
    assert load_referrals(df).data["reoffended"].tolist()[:4] == [True, False, True, False]


def test_blank_lines_and_lines_of_commas_are_both_empty_rows_read_and_dropped(tmp_path: Path) -> None:
    """ref_messy.csv: a fully blank line was not counted in "read" while a ",,,," line was."""
    df = good(3)
    text = df.to_csv(index=False).splitlines()
    text.insert(2, "")  # a blank line after the first row
    text.insert(3, "," * (len(df.columns) - 1))  # a line of only commas
    p = tmp_path / "r.csv"
    p.write_text("\n".join(text) + "\n\n")  # a blank line at the end is the file's end, not a row
    _, report = load_referrals(p)
    assert (report.rows_read, report.rows_kept, report.dropped) == (5, 3, {"empty row": 2})
    assert report.examples["empty row"] == ["r.csv:line 3", "r.csv:line 4"]


def test_victim_satisfaction_on_a_1_to_5_scale_is_read_as_a_scale_not_1_as_yes() -> None:
    df = good(8)
    df["victim_satisfied"] = ["1", "2", "3", "4", "5", "yes", "0", ""]
    data, report = load_referrals(df)
    got = data.set_index("referral_id")["victim_satisfied"]
    assert [got[f"IJ-{i:03d}"] for i in (0, 1, 3, 4, 5)] == [False, False, True, True, True]
    assert pd.isna(got["IJ-002"]) and pd.isna(got["IJ-006"]) and pd.isna(got["IJ-007"])  # 3 neutral, 0 off the scale
    warn = " ".join(report.warnings)
    assert "4-5 read as satisfied, 1-2 as not satisfied, 3 (neutral) as not recorded" in warn
    assert "'1' is not read as yes" in warn
    assert "'0' in 1 row" in warn  # 0 is not on a 1-5 scale: unrecognised, named


def test_victim_satisfaction_as_1_and_0_stays_yes_and_no() -> None:
    df = good(4)
    df["victim_satisfied"] = ["1", "0", "1", ""]
    data, report = load_referrals(df)
    assert data["victim_satisfied"].tolist()[:3] == [True, False, True]
    assert not any("scores" in w for w in report.warnings)


def test_times_the_uk_clock_skips_or_repeats_are_counted_in_a_warning() -> None:
    df = good(4)
    df["referred_at"] = ["2025-03-30 01:30", "2025-10-26 01:30", "2025-10-26T01:30+01:00", "2025-06-01 01:30"]
    data, report = load_referrals(df)
    assert report.rows_kept == 4
    told = [w for w in report.warnings if "UK clock" in w]
    assert len(told) == 1
    assert "1 do not exist on the UK clock" in told[0] and "e.g. 2025-03-30 01:30" in told[0]
    assert "1 happen twice" in told[0]  # the one with its offset written is exact, not counted
    _, plain = load_referrals(good(4))
    assert not any("UK clock" in w for w in plain.warnings)


def test_the_drop_identifying_control_names_every_kind_it_drops() -> None:
    from hotspots.io.referrals import DROP_IDENTIFYING_CONTROL

    for word in ("names", "dates of birth", "addresses", "postcodes", "phone", "email"):
        assert word in DROP_IDENTIFYING_CONTROL


def test_a_placeholder_year_is_no_clock_change_and_no_crash():
    # the loaders' fuzz: 9999-12-31 beside ordinary dates overflowed the clock check's nanosecond times
    from hotspots.io._dates import uk_clock_warning

    v = pd.Series(np.array(["2020-01-01T00:00", "2025-03-30T01:30", "9999-12-31T00:00"], dtype="datetime64[s]"))
    raw = pd.Series(["2020-01-01", "2025-03-30 01:30", "9999-12-31"])
    told = uk_clock_warning(v, raw, np.ones(3, dtype=bool), "referred_at")
    assert told is not None and told.startswith("`referred_at` value(s): 1 do not exist on the UK clock")
    assert uk_clock_warning(v[[0, 2]], raw[[0, 2]], np.ones(2, dtype=bool), "referred_at") is None
