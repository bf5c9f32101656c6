"""``hotspots load``: load reports, and the same month format as ``hotspots analyse``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli

from hotspots.schema import ASB_CATEGORY


@pytest.fixture()
def table(tmp_path):
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    df = pd.DataFrame({
        "incident_id": [f"i{k}" for k in range(40)],
        "month": [months[k % 4] for k in range(40)],
        "category": ASB_CATEGORY,
        "easting": 430000 + 10 * pd.RangeIndex(40),
        "northing": 336000 + 10 * pd.RangeIndex(40),
    })
    path = tmp_path / "incidents.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("months, kept", [("2025-02:2025-03", 20), ("2025-2:2025-3", 20), ("2025-03:", 20), (":2025-01", 10)])
def test_months_filter(table, months, kept):
    code, stdout, stderr = run_cli("load", table, "--months", months, "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["rows_read"] == 40 and report["rows_kept"] == kept


@pytest.mark.parametrize("months", ["2025-01-15:2025-03", "2025-13:2025-14", "2025", "January:March"])
def test_load_and_analyse_refuse_the_same_month_formats_with_the_same_message(table, tmp_path, months):
    code, _, load_err = run_cli("load", table, "--months", months)
    assert code == 2
    code, _, analyse_err = run_cli("analyse", table, "--out", tmp_path / "r", "--period", months)
    assert code == 2
    rule = "must be two months FIRST:LAST written YYYY-MM:YYYY-MM (e.g. 2022-07:2023-06); got"
    assert load_err == f"hotspots load: error: `--months` {rule} {months!r}.\n"
    assert analyse_err == f"hotspots analyse: error: `--period` {rule} {months!r}.\n"


def test_load_and_analyse_accept_the_same_month_formats(table, tmp_path):
    for months in ("2025-1:2025-3", "2025-01:2025-03", " 2025-01 : 2025-03 "):
        assert run_cli("load", table, "--months", months)[0] == 0
        code, _, stderr = run_cli("analyse", table, "--out", tmp_path / "r", "--period", months, "--no-images", "--formats",
                                  "csv",
                                  "--quiet", "--study-area", "none", "--cell-size", "100")
        assert code == 0, stderr


def test_missing_paths_are_named_with_their_placeholder(tmp_path):
    code, _, stderr = run_cli("load", tmp_path / "a.csv", tmp_path / "b.csv")
    assert code == 2
    assert stderr.startswith("hotspots load: error: 2 problems: (1) `PATH`") and stderr.count("\n") == 1


def test_warnings_are_printed_without_report(tmp_path):
    from test_io_police_uk import prow, write_police

    from hotspots.schema import ASB_CATEGORY

    # January, February and April 2025, 25 crimes each: March's file is missing
    for month in ("2025-01", "2025-02", "2025-04"):
        write_police(tmp_path / f"{month}-t-street.csv", [prow(crime_id=f"{month}-{i}", month=month, ctype=ASB_CATEGORY)
                                                           for i in range(25)])
    code, stdout, _ = run_cli("load", tmp_path)
    lines = stdout.strip().splitlines()
    assert code == 0 and lines[0].startswith("3 police.uk files: read 75, kept 75")
    assert len(lines) == 2 and lines[1].startswith("  warning: no data for Mar 2025")


@pytest.mark.parametrize("name", ["table.csv", "2025-01-derbyshire-street.csv"])
def test_a_file_without_latitude_gets_advice_a_command_line_user_can_follow(tmp_path, name):
    # the command line has no column-mapping option: renaming the columns is what its user can do
    path = tmp_path / name
    pd.DataFrame({"Crime ID": ["a"], "Month": ["2025-01"], "Longitude": [-1.47], "Crime type": [ASB_CATEGORY]}).to_csv(
        path, index=False)
    code, _, stderr = run_cli("load", path)
    assert code == 2
    assert "Rename the coordinate columns in the file to Longitude and Latitude" in stderr
    assert stderr.index("Rename") < stderr.index("in Python")  # the Python advice comes second, named as such


def test_a_folder_with_an_empty_an_unreadable_and_a_stray_file_says_so(tmp_path):
    from test_io_police_uk import prow, write_police

    for month in ("2025-01", "2025-02"):
        write_police(tmp_path / f"{month}-t-street.csv", [prow(month=month) for _ in range(3)])
    write_police(tmp_path / "2025-03-t-street.csv", [])
    (tmp_path / "2025-04-t-street.csv").write_bytes(b"\x00\x01")
    (tmp_path / "notes.txt").write_text("x")
    code, stdout, stderr = run_cli("load", tmp_path, "--category", ASB_CATEGORY, "--months", "2025-05:2025-06")
    lines = stdout.strip().splitlines()
    # the report is printed, then the error: nothing kept is not a success (it exited 0)
    assert code == 2 and stderr == (
        "hotspots load: error: no rows kept of 6 read (month outside range: 6); the report above says why (with "
        "`--report`, example rows).\n"
    )
    assert lines[0].startswith("3 police.uk files (and 1 unreadable, skipped: 2025-04-t-street.csv): read 6, kept 0")
    warnings = "\n".join(lines[1:])
    assert "2025-03-t-street.csv is empty" in warnings and "notes.txt" in warnings
    assert "months 2025-05 to 2025-06 matched no rows: the data hold Jan 2025 – Feb 2025 (2 months)" in warnings
    assert "categories present" not in warnings  # the category is there; the months filter kept nothing


def _irish(tmp_path, epsg, lon, lat):
    import pyproj

    e, n = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    path = tmp_path / f"ni_{epsg}.csv"
    pd.DataFrame({"incident_id": [f"i{k}" for k in range(len(e))], "month": "2025-01", "category": ASB_CATEGORY,
                  "easting": e, "northing": n}).to_csv(path, index=False)
    return path


def test_crs_reads_irish_transverse_mercator(tmp_path):
    """Belfast in ITM (eastings over 700 km): refused as no known grid without `--crs`, read with it."""
    path = _irish(tmp_path, 2157, [-5.93, -5.92, -5.94], [54.60, 54.59, 54.61])
    code, _, err = run_cli("load", path)
    assert code == 2 and "`--crs EPSG:2157`" in err
    code, out, _ = run_cli("load", path, "--crs", "EPSG:2157", "--report")
    assert code == 0 and "kept 3" in out and "Irish Transverse Mercator (EPSG:2157) (given `--crs`)" in out


def test_many_points_outside_bng_warn_of_another_grid(tmp_path):
    """ITM points of which 2 of 4 fall in BNG's range: the 2 others are dropped, and the warning says why and names
    `--crs`, where the note said '100.0% of 4 points' before. The 2 in range, read as BNG, lie in the North Sea: outside
    the UK, so the coordinate system is wrong, and the load stops naming `--crs` (it kept them, off Aberdeen)."""
    path = _irish(tmp_path, 2157, [-7.7, -7.5, -5.9, -5.6], [54.6, 54.6, 54.6, 54.6])
    code, out, err = run_cli("load", path)
    assert code == 2 and "2 of 2 points lie outside the United Kingdom" in err and "`--crs EPSG:2157`" in err
    # points of which a few of many are off in another grid: kept, with the warning
    path = _irish(tmp_path, 2157, [-5.9, -5.6], [54.6, 54.6])
    rows = pd.read_csv(path)
    bng = pd.DataFrame({"incident_id": [f"b{k}" for k in range(20)], "month": "2025-01", "category": ASB_CATEGORY,
                        "easting": 435000 + np.arange(20) * 10, "northing": 336000})
    pd.concat([rows, bng]).to_csv(path, index=False)
    code, out, _ = run_cli("load", path)
    assert code == 0 and "kept 20" in out
    assert "2 of 22 points lie outside the British National Grid range" in out and "`--crs EPSG:2157`" in out


def test_crs_is_checked_before_loading(tmp_path, table):
    code, _, err = run_cli("load", table, "--crs", "EPSG:9999999")
    assert code == 2 and "`--crs`" in err


def test_a_referrals_file_without_its_columns_gets_advice_a_command_line_user_can_follow(tmp_path):
    """`load --kind referrals` has no column mapping: the fix is to rename the columns, and the Python `columns=` comes
    second, named as such (it said only "Name them with `columns={'referred_at': '...', ...}`")."""
    path = tmp_path / "refs.csv"
    pd.DataFrame({"referral_id": ["r1"], "when": ["2025-01-03"], "offence": ["criminal damage"], "route": ["ASB warning letter"],
                  "easting": [430000], "northing": [336000]}).to_csv(path, index=False)
    code, _, stderr = run_cli("load", path, "--kind", "referrals")
    assert code == 2
    assert "cannot find column(s) for `referred_at`" in stderr
    assert "Rename the column(s) in the file to referred_at; in Python, name it with `columns={'referred_at': '...'}`." in stderr


def test_load_drops_identifying_referral_columns_when_asked(tmp_path):
    import pandas as pd

    from hotspots.privacy import pseudonymise

    path = tmp_path / "referrals.csv"
    pd.DataFrame({
        "referral_id": ["R1", "R2"], "person_ref": [pseudonymise("a", "s" * 16), pseudonymise("b", "s" * 16)],
        "referred_at": ["2025-01-02", "2025-01-03"], "offence": ["shop theft"] * 2, "route": ["community resolution"] * 2,
        "DOB": ["2001-01-01"] * 2, "longitude": [-1.47, -1.48], "latitude": [52.92, 52.93],
    }).to_csv(path, index=False)
    code, _, stderr = run_cli("load", path, "--kind", "referrals")
    assert code == 2 and "add `--drop-identifying DOB` to the command" in stderr and "allow_identifying" not in stderr
    code, stdout, stderr = run_cli("load", path, "--kind", "referrals", "--drop-identifying", "DOB")
    assert code == 0, stderr
    assert "read 2, kept 2" in stdout
    code, _, stderr = run_cli("load", path, "--drop-identifying", "DOB")
    assert code == 2 and "`--drop-identifying` is for referral files" in stderr


def test_swapped_coordinates_name_the_swap_xy_flag_which_exists(tmp_path):
    from test_io_police_uk import prow, write_police

    rows = [prow(lon="52.9225", lat="-1.4746")] * 2 + [prow(lon="-1.48", lat="52.93")]
    p = write_police(tmp_path / "2025-01-t-street.csv", rows)
    code, _, err = run_cli("load", p)  # most rows swapped, not all: refused
    assert code == 2 and "`--swap-xy` swaps every file loaded" in err and "in Python only" not in err
    code, out, _ = run_cli("load", p, "--swap-xy")
    assert code == 0 and "kept 2" in out and "possibly swapped coordinates: 1" in out


def test_swap_xy_on_a_file_in_order_says_drop_it_not_pass_it(tmp_path):
    """A correct file with `--swap-xy` was told "... Swap them at source or pass --swap-xy" (already given)."""
    from test_io_police_uk import prow, write_police

    p = write_police(tmp_path / "2025-01-t-street.csv", [prow(lon="-1.4746", lat="52.9225"), prow(lon="-1.48", lat="52.93")])
    code, _, err = run_cli("load", p, "--swap-xy")
    assert code == 2 and "already in order; drop `--swap-xy`" in err and "or pass" not in err


def test_one_swapped_file_in_a_folder_is_read_swapped_on_its_own_and_named(tmp_path):
    """A month wholly swapped in a folder was skipped (3,379 rows lost, not counted as read); --swap-xy would swap the
    files in order too. The file is read swapped on its own, with a warning naming it; a mostly swapped one is skipped."""
    from test_io_police_uk import prow, write_police

    write_police(tmp_path / "2025-01-t-street.csv", [prow(lon="52.9225", lat="-1.4746"), prow(lon="52.93", lat="-1.48")])
    write_police(tmp_path / "2025-02-t-street.csv", [prow(lon="-1.4746", lat="52.9225", month="2025-02")])
    code, out, err = run_cli("load", tmp_path)
    said = out + err
    assert code == 0 and "read 3, kept 3" in said
    assert "2025-01-t-street.csv: its coordinates are the wrong way round" in said and "for this file only" in said
    write_police(tmp_path / "2025-03-t-street.csv", [prow(lon="52.9", lat="-1.47", month="2025-03")] * 2
                 + [prow(lon="-1.47", lat="52.9", month="2025-03")])
    code, out, err = run_cli("load", tmp_path)
    said = out + err
    assert code == 0 and "kept 3" in said and "2025-03-t-street.csv: most coordinates look like latitude" in said
    assert "fix this file at source" in said and "swaps every file loaded" in said


def test_an_outcomes_file_is_refused_on_the_command_line(tmp_path):
    from test_io_police_uk import OUTCOMES_HEADER, _outcomes_row, write_police

    p = write_police(tmp_path / "2025-06-t-outcomes.csv", [_outcomes_row()], header=OUTCOMES_HEADER)
    code, _, err = run_cli("load", p)
    assert code == 2 and "is a police.uk outcomes file" in err and "street-level file" in err


def test_load_warns_when_most_rows_were_dropped_and_not_otherwise(tmp_path, table):
    # the rule `hotspots analyse` and the app use (hotspots.io.dropped_share_text), here with the load's own fix
    code, stdout, _ = run_cli("load", table)
    assert code == 0 and "WARNING" not in stdout
    df = pd.read_csv(table)
    df.loc[df.index[:30], ["easting", "northing"]] = np.nan  # 30 of 40 rows without a location
    df.to_csv(table, index=False)
    code, stdout, _ = run_cli("load", table)
    lines = stdout.strip().splitlines()
    assert code == 0 and "kept 10" in lines[0]
    warned = [ln for ln in lines if ln.startswith("  WARNING: ")]
    assert len(warned) == 1 and warned[0].startswith("  WARNING: 75 % of the incident rows were dropped (")
    assert "30" in warned[0] and warned[0].endswith("the reasons are above (`--report` adds example rows)")
    code, stdout, _ = run_cli("load", "--json", table)  # JSON stays JSON
    assert code == 0 and json.loads(stdout)["rows_kept"] == 10
