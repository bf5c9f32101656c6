"""Results folders (hotspots.results_folder): what `--out` may be, what a run clears, and that no
file is ever written through a symbolic link; the rule as the commands use it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hotspots import ParameterError
from hotspots.cli import main
from hotspots.results_folder import LEDGER, SIDECAR, check_output_file, results_folder


def _run(folder_path: Path, files: dict[str, str], command: str = "test") -> list[str]:
    """A run that writes ``files`` (relative path -> text) into the folder."""
    folder = results_folder(folder_path, command=command)
    with folder.writing():
        for rel, text in files.items():
            p = folder.path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
    return json.loads((folder_path / SIDECAR).read_text())["files_written"]


# =============================================================================== refusals
def test_root_and_home_are_refused(monkeypatch, tmp_path):
    with pytest.raises(ParameterError, match=r"`out` '/' is the root of the file system"):
        results_folder("/", command="analyse")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ParameterError, match="is your home folder"):
        results_folder(tmp_path, command="analyse")
    with pytest.raises(ParameterError, match="is your home folder"):
        results_folder("~", command="analyse")
    (tmp_path / "x").mkdir()
    with pytest.raises(ParameterError, match="is your home folder"):
        results_folder(tmp_path / "x" / "..", command="analyse")


def test_a_file_and_a_folder_hotspots_did_not_write_are_refused_and_left_alone(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    with pytest.raises(ParameterError, match="exists and is not a folder"):
        results_folder(f, command="analyse")
    refused = r"is not empty and was not written by hotspots \(it holds notes\.txt\).*never deletes"
    with pytest.raises(ParameterError, match=refused):
        results_folder(tmp_path, command="analyse")
    assert f.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_parameters_json_without_a_file_list_is_not_enough(tmp_path):
    (tmp_path / SIDECAR).write_text(json.dumps({"format": "hotspots-parameters/1"}))
    (tmp_path / "old.csv").write_text("x")
    with pytest.raises(ParameterError, match="earlier version of hotspots that did not list its files"):
        results_folder(tmp_path, command="analyse")
    (tmp_path / SIDECAR).write_text(json.dumps({"format": "someone-else", "files_written": ["old.csv"]}))
    with pytest.raises(ParameterError, match="not written by hotspots"):
        results_folder(tmp_path, command="analyse")


def test_checking_changes_nothing_until_the_run_begins(tmp_path):
    out = tmp_path / "results"
    folder = results_folder(out, command="analyse")
    assert not out.exists()
    folder.begin()
    assert out.is_dir() and (out / LEDGER).exists()
    # Only the folder itself is created, never its parents (a typo cannot scatter folders).
    with pytest.raises(ParameterError, match="in a folder that does not exist"):
        results_folder(tmp_path / "new" / "results", command="analyse")


# =============================================================================== clearing an earlier run
def test_an_earlier_runs_files_are_cleared_and_only_this_runs_are_listed(tmp_path):
    out = tmp_path / "r"
    first = _run(out, {"csv/kpis.csv": "1", "geojson/referral_lines.geojson": "{}", "maps/a.png": "png"})
    assert first == ["csv/kpis.csv", "geojson/referral_lines.geojson", "maps/a.png", SIDECAR]
    (out / "my notes.txt").write_text("keep me")  # the user's own file in the folder
    second = _run(out, {"csv/kpis.csv": "2", "maps/b.png": "png"})
    assert second == ["csv/kpis.csv", "maps/b.png", SIDECAR]
    assert not (out / "geojson").exists()  # the stale referral layer and its folder are gone
    assert not (out / "maps" / "a.png").exists()
    assert (out / "csv" / "kpis.csv").read_text() == "2"
    assert (out / "my notes.txt").read_text() == "keep me"
    assert not (out / LEDGER).exists()


def test_a_users_file_named_as_a_runs_output_is_refused_not_overwritten(tmp_path):
    """A user's map in ``maps/`` of a folder an earlier run wrote without images (or an
    ``overview.png`` beside a national run without one) would be overwritten by the next run:
    refused before anything changes, naming the file; a file of another name is still kept."""
    out = tmp_path / "r"
    _run(out, {"csv/kpis.csv": "1"}, command="analyse")
    (out / "maps").mkdir()
    (out / "maps" / "briefing_density.png").write_text("MINE")
    (out / "my notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match=r"maps/briefing_density\.png\): they are not hotspots' and would be overwritten"):
        results_folder(out, command="analyse")
    assert (out / "maps" / "briefing_density.png").read_text() == "MINE" and (out / "csv" / "kpis.csv").exists()
    (out / "maps" / "briefing_density.png").rename(out / "my map.png")
    (out / "maps").rmdir()
    assert _run(out, {"csv/kpis.csv": "2"}, command="analyse") == ["csv/kpis.csv", SIDECAR]
    assert (out / "my map.png").read_text() == "MINE" and (out / "my notes.txt").read_text() == "keep me"
    # national: its overview beside an earlier run's rasters
    nat = tmp_path / "n"
    _run(nat, {"counts.tif": "t"}, command="national")
    (nat / "overview.png").write_text("MINE")
    with pytest.raises(ParameterError, match=r"overview\.png"):
        results_folder(nat, command="national")


def test_a_users_own_files_in_the_tools_subfolders_are_kept_not_refused(tmp_path):
    """Only names a run writes are refused: a user's ``csv/my_table.csv``, ``csv/zz_mine.txt``,
    ``geojson/my.geojson`` or ``maps/my_own_map.png`` beside an earlier analyse run are kept (they
    were refused as "file(s) that this run may write"); ``*.tif`` of a user's beside national too."""
    out = tmp_path / "r"
    _run(out, {"csv/kpis.csv": "1", "geojson/cells.geojson": "g", "maps/briefing_density.png": "p"}, command="analyse")
    mine = {"csv/my_table.csv": "a", "csv/zz_mine.txt": "b", "geojson/my.geojson": "c", "maps/my_own_map.png": "d"}
    for rel, text in mine.items():
        (out / rel).write_text(text)
    assert _run(out, {"csv/kpis.csv": "2"}, command="analyse") == ["csv/kpis.csv", SIDECAR]
    assert all((out / rel).read_text() == text for rel, text in mine.items())
    assert not (out / "maps" / "briefing_density.png").exists()
    (out / "csv" / "hotspot_areas.csv").write_text("MINE")  # a name the run writes: still refused
    with pytest.raises(ParameterError, match=r"csv/hotspot_areas\.csv\): they are not hotspots'"):
        results_folder(out, command="analyse")
    nat = tmp_path / "n"
    _run(nat, {"counts.tif": "t"}, command="national")
    (nat / "my_raster.tif").write_text("MINE")
    assert _run(nat, {"counts.tif": "u"}, command="national") == ["counts.tif", SIDECAR]
    assert (nat / "my_raster.tif").read_text() == "MINE"


def test_output_names_name_what_each_command_writes():
    from hotspots.export.briefing import BRIEFING_MAPS
    from hotspots.export.gis import CSV_TABLES, GPKG_TABLES, LAYER_NAMES
    from hotspots.results_folder import COMMANDS, output_names

    analyse = set(output_names("analyse"))
    assert {f"csv/{t}.csv" for t in CSV_TABLES} <= analyse and set(GPKG_TABLES) <= set(CSV_TABLES)
    assert {f"geojson/{n}.geojson" for n in LAYER_NAMES} <= analyse
    assert {f"maps/{s}.png" for s in BRIEFING_MAPS.values()} <= analyse and "hotspots.gpkg" in analyse
    assert not any("*" in n for c in COMMANDS for n in output_names(c))
    assert "counts.tif" in output_names("national") and output_names("test") == ()


def test_a_folder_of_another_command_is_refused_naming_it(tmp_path):
    """``national --out`` into an ``analyse`` folder deleted its 19 files without a word: refused,
    naming the earlier command and the two ways out; nothing changes."""
    out = tmp_path / "r"
    _run(out, {"hotspots.gpkg": "g", "csv/kpis.csv": "1"}, command="analyse")
    for other in ("national", "demo"):
        with pytest.raises(ParameterError, match=r"results of an earlier `hotspots analyse` run \(3 files of 20\d\d-.*UTC\); "
                           rf"this `hotspots {other}` run would delete them\. Give another `--out`.*or delete that folder"):
            results_folder(out, command=other)
    assert (out / "hotspots.gpkg").read_text() == "g"
    # an older sidecar without `written_by`: the command word of its command line
    side = json.loads((out / SIDECAR).read_text())
    del side["written_by"]
    side["command"] = "hotspots analyse in --out r"
    (out / SIDECAR).write_text(json.dumps(side))
    with pytest.raises(ParameterError, match="earlier `hotspots analyse` run"):
        results_folder(out, command="national")
    results_folder(out, command="analyse")  # the same command may replace it


def test_replacing_an_earlier_run_is_said_in_one_line(tmp_path):
    """A run into a folder an earlier run wrote says how many files it replaced, of when, and which
    of them it did not write again (the PNGs of a rerun with --no-images were removed silently)."""
    out = tmp_path / "r"
    first = results_folder(out, command="analyse")
    with first.writing():
        (out / "a.csv").write_text("1")
    assert first.replaced_note() is None
    _run(out, {"a.csv": "1", "maps/briefing_density.png": "p", "maps/briefing_gistar.png": "p"}, command="analyse")
    folder = results_folder(out, command="analyse")
    with folder.writing():
        (out / "a.csv").write_text("2")
    note = folder.replaced_note()
    assert note.startswith("replaced the earlier run's 4 files of 20") and f"UTC in {out.resolve()}" in note
    assert note.endswith("(not written again: maps/briefing_density.png, maps/briefing_gistar.png)")


def test_a_linked_out_is_named_by_its_real_path(tmp_path):
    """``--out link_out`` (a link to another results folder) replaces that folder's run: the line
    says which folder that really is."""
    real = tmp_path / "real"
    _run(real, {"a.csv": "1"}, command="analyse")
    link = tmp_path / "link_out"
    os.symlink(real, link)
    folder = results_folder(link, command="analyse")
    with folder.writing():
        (folder.path / "a.csv").write_text("2")
    note = folder.replaced_note()
    assert f"in {real.resolve()} (`{link}` links there)" in note
    assert (real / "a.csv").read_text() == "2"


def test_a_run_that_stopped_half_way_is_cleared_by_the_next(tmp_path):
    out = tmp_path / "r"
    _run(out, {"a.csv": "1"})
    (out / "mine.txt").write_text("keep")
    folder = results_folder(out, command="analyse")
    folder.begin()
    (out / "csv").mkdir()
    (out / "csv" / "half.csv").write_text("x")  # ... and then the run dies: no finish()
    assert json.loads((out / LEDGER).read_text())["kept"] == ["mine.txt"]
    assert _run(out, {"csv/whole.csv": "y"}) == ["csv/whole.csv", SIDECAR]
    assert not (out / "csv" / "half.csv").exists() and (out / "mine.txt").read_text() == "keep"


def test_paths_in_parameters_json_never_reach_outside_the_folder(tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("do not delete")
    out = tmp_path / "r"
    out.mkdir()
    (out / "a.csv").write_text("x")
    listed = ["a.csv", "../precious.txt", str(outside), "", ".", "a/../../precious.txt", 7, None]
    (out / SIDECAR).write_text(json.dumps({"format": "hotspots-parameters/1", "files_written": listed}))
    _run(out, {"b.csv": "y"})
    assert outside.read_text() == "do not delete"
    assert not (out / "a.csv").exists()


# =============================================================================== symbolic links
def test_links_in_a_folder_are_refused_and_their_targets_never_written(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("precious")
    out = tmp_path / "r"
    _run(out, {"csv/kpis.csv": "1"})
    (out / "csv2").mkdir()
    os.symlink(target, out / "csv2" / "kpis.csv")  # not listed: someone else's link
    with pytest.raises(ParameterError, match=r"holds symbolic link\(s\) \(csv2/kpis\.csv\)"):
        results_folder(out, command="analyse")
    assert target.read_text() == "precious"


def test_a_listed_file_replaced_by_a_link_is_removed_not_followed(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("precious")
    out = tmp_path / "r"
    _run(out, {"csv/kpis.csv": "1"})
    (out / "csv" / "kpis.csv").unlink()
    os.symlink(target, out / "csv" / "kpis.csv")
    _run(out, {"csv/kpis.csv": "2"})
    assert target.read_text() == "precious"
    assert not (out / "csv" / "kpis.csv").is_symlink() and (out / "csv" / "kpis.csv").read_text() == "2"


def test_a_listed_folder_replaced_by_a_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "kpis.csv").write_text("precious")
    out = tmp_path / "r"
    _run(out, {"csv/kpis.csv": "1"})
    (out / "csv" / "kpis.csv").unlink()
    (out / "csv").rmdir()
    os.symlink(elsewhere, out / "csv")
    with pytest.raises(ParameterError, match=r"symbolic link\(s\) \(csv\)"):
        results_folder(out, command="analyse")
    assert (elsewhere / "kpis.csv").read_text() == "precious"


def test_a_link_that_appears_during_a_run_is_reported(tmp_path):
    target = tmp_path / "t"
    target.write_text("x")
    folder = results_folder(tmp_path / "r", command="analyse")
    folder.begin()
    os.symlink(target, folder.path / "sneaky.csv")
    with pytest.raises(ParameterError, match="appeared while hotspots was writing"):
        folder.finish()


def test_a_parameters_json_link_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "t.json"
    target.write_text("{}")
    folder = results_folder(tmp_path / "r", command="analyse")
    folder.begin()
    os.symlink(target, folder.path / SIDECAR)
    with pytest.raises(ParameterError):  # a new link is refused...
        folder.finish()
    assert target.read_text() == "{}"  # ... and never written through


# =============================================================================== single files
def test_a_single_output_file_is_never_a_link(tmp_path, capsys):
    assert check_output_file(tmp_path / "m.png") == tmp_path / "m.png"
    target = tmp_path / "t.png"
    target.write_bytes(b"precious")
    os.symlink(target, tmp_path / "link.png")
    with pytest.raises(ParameterError, match="is a symbolic link"):
        check_output_file(tmp_path / "link.png")
    # hotspots map refuses it before loading anything.
    assert main(["map", "--demo", "--out", str(tmp_path / "link.png")]) == 2
    assert "`--out`" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"


# =============================================================================== the commands
def test_demo_twice_into_the_same_folder_and_never_into_a_foreign_one(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--seed", "3"]) == 0
    side = json.loads((out / SIDECAR).read_text())
    assert side["command"] == f"hotspots demo --out {out} --seed 3" and side["seed"] == 3  # as typed: reruns it
    assert side["files_written"] == ["README.md", "ground_truth.json", "incidents.csv", SIDECAR, "referrals.csv", "tasks.csv"]
    assert main(["demo", "--out", str(out), "--seed", "3"]) == 0  # ours: replaced
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("x")
    assert main(["demo", "--out", str(foreign)]) == 2
    assert "not written by hotspots" in capsys.readouterr().err
    assert sorted(p.name for p in foreign.iterdir()) == ["x.txt"]
    assert main(["demo", "--out", "/"]) == 2


def test_analyse_refuses_a_bad_out_before_loading_anything(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("x")
    assert main(["analyse", "--demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr()
    assert "not written by hotspots" in err.err and "hotspots analyse" not in err.out
    assert main(["analyse", "--demo", "--out", "/"]) == 2
