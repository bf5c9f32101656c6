"""The names users import from `hotspots` exist, resolve to the right objects, and stay lazy."""

import subprocess
import sys

import hotspots


def test_every_exported_name_resolves():
    for name in hotspots.__all__:
        assert getattr(hotspots, name) is not None, name


def test_issue_api_names_are_exported():
    for name in ["Grid", "count", "kde", "gi_star", "clusters", "hotspot_areas", "stability", "LoadReport"]:
        assert name in hotspots.__all__


def test_lazy_names_are_the_module_objects():
    from hotspots.gistar import gi_star
    from hotspots.grid import Grid

    assert hotspots.Grid is Grid and hotspots.gi_star is gi_star


def test_unknown_name_is_an_attribute_error():
    try:
        hotspots.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_the_heavy_stack():
    code = "import sys, hotspots; print('geopandas' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_functions_do_not_clash_with_submodules():
    # A submodule named like an exported function would replace it on the package once imported.
    import importlib

    for name in hotspots.__all__:
        try:
            importlib.import_module(f"hotspots.{name}")
        except ModuleNotFoundError:
            continue
        raise AssertionError(f"hotspots.{name} is both an exported name and a submodule")
    importlib.import_module("hotspots.density")

    assert callable(hotspots.kde) and callable(hotspots.clusters) and callable(hotspots.stability)


def test_the_readme_python_example_runs_on_real_police_uk_files(police_uk_dir, monkeypatch, capsys):
    # the README's only Python block, run as a newcomer would from the repository root: it must
    # keep up with the library's names (it reads ../shared, so it skips without the real data)
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    blocks = re.findall(r"```python\n(.*?)```", (root / "README.md").read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1 and "../shared/data/police_uk/" in blocks[0]
    monkeypatch.chdir(root)
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)  # noqa: S102 - our own README
    result, prep = scope["result"], scope["prep"]
    assert prep.study_area is not None and result.areas.n_areas > 0
    printed = capsys.readouterr().out
    assert all(line in printed for line in result.change_summary.lines())
    assert not [n for n in result.notes if n.startswith("no study area")]
