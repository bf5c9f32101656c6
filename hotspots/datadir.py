"""The ``data/`` folder: where ``hotspots fetch`` writes and where the app finds forces' files.

Layout (contents git-ignored; see ``data/README.md``)::

    data/
      police_uk/<force>/YYYY-MM-<force>-street.csv   street-level crimes of one force (hotspots fetch police-uk)
      boundaries/<force>.geojson                     the force area (hotspots fetch boundary)

``<force>`` is the police.uk force id (``leicestershire``; :data:`hotspots.forces.FORCES`).
The folder is ``$HOTSPOTS_DATA_DIR`` when set, else ``data/`` in the current working folder
(the repository root when you follow the README). The app lists :func:`force_folders` beside
the demo data and opens one with :func:`force_bundle`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .forces import FORCES, force_id

__all__ = ["ForceFolder", "boundary_path", "data_dir", "force_bundle", "force_folders", "police_uk_dir"]

_STREET = re.compile(r"^(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-street\.csv(\.gz)?$")


def data_dir() -> Path:
    """``$HOTSPOTS_DATA_DIR``, else ``./data`` (not created here)."""
    env = os.environ.get("HOTSPOTS_DATA_DIR")
    return Path(env).expanduser() if env else Path.cwd() / "data"


def _slug(force: str) -> str:
    fid = force_id(force)
    if fid:
        return fid
    slug = re.sub(r"[^a-z0-9]+", "-", str(force).strip().lower()).strip("-")
    return slug or "force"


def police_uk_dir(force: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``data/police_uk/<force id>``: where a force's street-level files go."""
    return Path(root or data_dir()) / "police_uk" / _slug(force)


def boundary_path(force: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``data/boundaries/<force id>.geojson``: where a force's boundary goes."""
    return Path(root or data_dir()) / "boundaries" / f"{_slug(force)}.geojson"


@dataclass(frozen=True)
class ForceFolder:
    """One force's files under ``data/police_uk/``.

    Attributes
    ----------
    id : str
        The folder name (police.uk force id).
    name : str
        The force's name (:data:`hotspots.forces.FORCES`; the id when unknown).
    path : Path
        The folder.
    files : tuple of Path
        Its street-level files, by month.
    months : tuple of str
        ``("2025-01", "2025-12")``: first and last month of the files.
    boundary : Path or None
        ``data/boundaries/<id>.geojson`` when it exists.
    """

    id: str
    name: str
    path: Path
    files: tuple[Path, ...]
    months: tuple[str, str]
    boundary: Path | None = None

    def describe(self) -> str:
        span = self.months[0] if self.months[0] == self.months[1] else f"{self.months[0]} to {self.months[1]}"
        return f"{self.name}: {len(self.files)} monthly file(s), {span}" + (" (with boundary)" if self.boundary else "")


def force_folders(root: str | os.PathLike[str] | None = None) -> list[ForceFolder]:
    """The forces with street-level files under ``data/police_uk/``, by name.

    A folder counts when it holds at least one ``YYYY-MM-<force>-street.csv`` (or ``.csv.gz``)
    file, at any depth (police.uk's own downloads put each month in a subfolder).
    """
    base = Path(root or data_dir())
    folder = base / "police_uk"
    if not folder.is_dir():
        return []
    out = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted((f for f in d.rglob("*") if f.is_file() and _STREET.match(f.name)), key=lambda f: f.name)
        if not files:
            continue
        months = sorted(_STREET.match(f.name)["month"] for f in files)  # type: ignore[index]
        b = boundary_path(d.name, base)
        out.append(
            ForceFolder(d.name, FORCES.get(d.name, d.name), d, tuple(files), (months[0], months[-1]), b if b.is_file() else None)
        )
    return sorted(out, key=lambda f: f.name)


def force_bundle(folder: ForceFolder, *, settings: Any = None) -> Any:
    """A force's folder loaded and prepared for the app, as the CLI would (:class:`hotspots.app_support.DataBundle`).

    The street-level files are loaded with :func:`hotspots.io.load_police_uk`; the force's
    boundary (``data/boundaries/<id>.geojson``) is the study area when present, else the
    pipeline's automatic choice (the incidents' footprint).
    """
    import hashlib

    from .app_support import DataBundle, LoadOutcome
    from .io import load_boundary, load_police_uk
    from .pipeline import prepare_inputs

    loaded = load_police_uk(list(folder.files))
    boundary = load_boundary(folder.boundary) if folder.boundary is not None else None
    inputs = {"incidents": loaded.data, "settings": settings, "boundary": boundary}
    prepared = prepare_inputs(**inputs)
    h = hashlib.sha256()
    for f in (*folder.files, *([folder.boundary] if folder.boundary else [])):
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    outcomes = [LoadOutcome("incidents", tuple(f.name for f in folder.files), loaded.report, rows=len(loaded.data))]
    if boundary is not None:
        outcomes.append(LoadOutcome("boundary", (folder.boundary.name,), rows=len(boundary)))
    months = folder.months[0] if folder.months[0] == folder.months[1] else f"{folder.months[0]} to {folder.months[1]}"
    return DataBundle(
        prepared=prepared,
        source="files",
        label=f"{folder.name}: police.uk files in {folder.path.resolve()} ({len(folder.files)} month(s), {months})",
        token=f"data-{folder.id}-{h.hexdigest()[:16]}",
        reports=tuple(outcomes),
        notes=prepared.notes,
        inputs=inputs,  # a referrals or tasks file added in the Data tab is prepared with these incidents
    )
