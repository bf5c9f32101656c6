"""``hotspots demo``: writes the demo files; bad --out or --seed is one line, nothing created."""

from __future__ import annotations

import json
import os

import pytest
from helpers import run_cli


def test_writes_the_files(tmp_path):
    code, stdout, _ = run_cli("demo", "--out", tmp_path / "d", "--seed", "3")
    assert code == 0
    assert stdout.startswith(f"demo data (seed 3) written to {tmp_path / 'd'}")
    assert {p.name for p in (tmp_path / "d").iterdir()} >= {"incidents.csv", "referrals.csv", "tasks.csv", "ground_truth.json"}
    side = json.loads((tmp_path / "d" / "parameters.json").read_text())
    # the command as typed, which reruns it from the folder it ran in
    assert side["command"] == f"hotspots demo --out {tmp_path / 'd'} --seed 3" and side["seed"] == 3
    assert side["working_directory"] == os.getcwd()


@pytest.mark.parametrize(
    "out, seed, message",
    [
        ("/dev/null/x", "0", "`--out` '/dev/null/x': '/dev/null' is not a folder; choose a path inside a folder."),
        ("{tmp}/a/b", "0", "is in a folder that does not exist"),
        ("{tmp}/file", "0", "exists and is not a folder"),
        ("{tmp}/d", "-1", "`--seed` must be a whole number >= 0 (e.g. 0); got -1."),
        ("{tmp}/d", "x", "`--seed` must be a whole number; got 'x'."),
    ],
)
def test_bad_arguments_are_one_line_and_create_nothing(tmp_path, out, seed, message):
    (tmp_path / "file").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = run_cli("demo", "--out", out.format(tmp=tmp_path), "--seed", seed)
    assert code == 2 and stdout == ""
    assert stderr.startswith("hotspots demo: error: ") and stderr.count("\n") == 1 and message in stderr, stderr
    assert "internal error" not in stderr and "`out_dir`" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
