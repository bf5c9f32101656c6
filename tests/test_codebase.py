"""The codebase's own rules (issue 15), checked on the source so that they stay true: library
modules of at most 900 lines, ``app.py`` of at most 400, and no private names imported across
modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "hotspots").rglob("*.py"))


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_library_module_over_900_lines():
    assert len(LIBRARY) > 50
    long = {str(p.relative_to(ROOT)): n for p in LIBRARY if (n := _lines(p)) > 900}
    assert long == {}, f"split these by concept: {long}"


def test_app_is_at_most_400_lines():
    assert _lines(ROOT / "app.py") <= 400


def _private_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``from x import _name`` where ``x`` is one of ours and ``_name`` is private to it (a
    private *module* such as ``io/_pipeline.py`` is its package's shared internals: its public
    names may be imported). Third-party packages are not judged here (``maps/offline.py`` reads
    folium-offline's asset table, which has no public name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        ours = isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").split(".")[0] == "hotspots")
        for alias in node.names if ours else ():
            if alias.name.startswith("_") and not alias.name.startswith("__"):
                where = f"{path.relative_to(root)}:{node.lineno}"
                found.append(f"{where} from {'.' * node.level}{node.module or ''} import {alias.name}")
    return found


def test_no_private_names_imported_across_modules():
    found = [hit for p in [*LIBRARY, ROOT / "app.py"] for hit in _private_imports(p)]
    assert found == []


def test_the_private_import_check_sees_one(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text(
        "from .kpis import _display\nfrom .io._pipeline import PointColumns\n"
        "from hotspots.change import _split_periods\nfrom other_package import _table\n"
    )
    hits = [h.split(" ", 1)[1] for h in _private_imports(bad, tmp_path)]
    assert hits == ["from .kpis import _display", "from hotspots.change import _split_periods"]
