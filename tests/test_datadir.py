"""Tests for hotspots.datadir: the data/ folder layout and the forces found in it."""

from __future__ import annotations

from pathlib import Path

from hotspots.datadir import boundary_path, data_dir, force_folders, police_uk_dir

REPO = Path(__file__).resolve().parents[1]


def test_data_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("HOTSPOTS_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert data_dir() == tmp_path / "data"


def test_paths_use_police_uk_ids(tmp_path):
    assert police_uk_dir("Leicestershire Police", tmp_path) == tmp_path / "police_uk" / "leicestershire"
    assert police_uk_dir("northern-ireland", tmp_path).name == "northern-ireland"
    assert boundary_path("Devon & Cornwall Police", tmp_path) == tmp_path / "boundaries" / "devon-and-cornwall.geojson"
    assert police_uk_dir("Atlantis Constabulary", tmp_path).name == "atlantis-constabulary"


def test_force_folders(tmp_path):
    assert force_folders(tmp_path) == []
    flat = tmp_path / "police_uk" / "leicestershire"
    flat.mkdir(parents=True)
    for m in ("2025-03", "2025-01", "2025-02"):
        (flat / f"{m}-leicestershire-street.csv").write_text("x")
    (flat / "notes.txt").write_text("x")
    nested = tmp_path / "police_uk" / "kent" / "2024-12"
    nested.mkdir(parents=True)
    (nested / "2024-12-kent-street.csv.gz").write_bytes(b"x")
    (tmp_path / "police_uk" / "empty").mkdir()
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / "kent.geojson").write_text("{}")
    got = force_folders(tmp_path)
    assert [f.name for f in got] == ["Kent Police", "Leicestershire Police"]
    kent, leics = got
    assert kent.boundary == tmp_path / "boundaries" / "kent.geojson" and kent.months == ("2024-12", "2024-12")
    assert leics.boundary is None and leics.months == ("2025-01", "2025-03") and len(leics.files) == 3
    assert [f.name for f in leics.files][0] == "2025-01-leicestershire-street.csv"
    assert leics.describe() == "Leicestershire Police: 3 monthly file(s), 2025-01 to 2025-03"


def test_repository_data_folder_is_tracked_but_its_contents_ignored():
    assert (REPO / "data" / "README.md").is_file()
    lines = (REPO / "data" / ".gitignore").read_text().splitlines()
    assert "*" in lines and "!README.md" in lines and "!.gitignore" in lines


def test_force_bundle_names_the_real_folder(tmp_path, monkeypatch):
    """The Data tab names the folder the files were read from (HOTSPOTS_DATA_DIR), not data/police_uk/<id>."""
    from helpers import police_csv

    from hotspots.app_support import demo_bundle
    from hotspots.datadir import force_bundle

    inc = demo_bundle(0).incidents
    folder = tmp_path / "police_uk" / "derbyshire"
    folder.mkdir(parents=True)
    (folder / "2023-01-derbyshire-street.csv").write_bytes(police_csv(inc[inc["month"] == "2023-01-01"]))
    monkeypatch.chdir(REPO)
    (found,) = force_folders(tmp_path)
    bundle = force_bundle(found)
    assert f"police.uk files in {folder.resolve()} (" in bundle.label and "data/police_uk" not in bundle.label
    # a referrals file added later in the Data tab is prepared with the same incidents (with_scheme_files)
    assert bundle.inputs is not None and len(bundle.inputs["incidents"]) == len(bundle.incidents)
