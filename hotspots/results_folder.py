"""One rule for every command that writes a results folder (``analyse``, ``demo``, ``national``)
or a single output file (``map``).

A results folder holds only what one run wrote, and that list is in its ``parameters.json``
(``files_written``, paths relative to the folder). Before a run writes into a folder:

* ``/`` and the home folder are refused, and so is a path that is a file;
* a missing folder is created; an empty one is used;
* a folder that an earlier run of the same command wrote (its ``parameters.json`` lists its files)
  is cleared of exactly those files, so nothing from the earlier run (e.g. referral layers a new
  run no longer writes) stays behind unlisted; :meth:`ResultsFolder.replaced_note` says so in one
  line (how many files, of when, which of them the run did not write again, and the folder's
  real path when ``--out`` is a link to it). Anything else in it (a user's notes, a user's
  ``csv/my_table.csv``) is kept and never listed, unless its name is one the run may write
  (:func:`output_names`: a user's ``maps/briefing_density.png`` after a run without images),
  which is refused;
* a folder that a run of another command wrote (``national`` results under ``analyse --out``) is
  refused, naming that command: a run replaces only its own command's results;
* any other non-empty folder is refused: hotspots never deletes or overwrites files it did not write;
* symbolic links anywhere in the folder are refused (a writer would follow them and overwrite
  their targets); links among the files of an earlier run are removed (the link, never its
  target), and paths listed in ``parameters.json`` are used only when they stay inside the
  folder without passing through a link.

While a run writes, a hidden ledger (``.hotspots-writing.json``) records what was there before,
so that a run that stops half-way leaves a folder the next run can still clear.

Usage (every command)::

    folder = results_folder(args.out, command="analyse")   # checks now, changes nothing on disk
    ...                                                    # load and analyse (may take long)
    with folder.writing():                                 # clears the earlier run's files
        export_gis(analysis, folder.path, ...)             # writes parameters.json
        briefing_map(analysis, folder.path / "maps" / "density.png")
    # leaving the block without an error adds "files_written" to parameters.json

``folder.begin()`` / ``folder.finish()`` do the same without a ``with`` block. A command that
writes no ``parameters.json`` of its own gets a small one (``format``, ``command``,
``files_written``, and what ``folder.record(...)`` adds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from . import validation
from ._errors import ParameterError

__all__ = ["COMMANDS", "LEDGER", "SIDECAR", "SIDECAR_FORMAT", "ResultsFolder", "check_output_file", "output_names",
           "results_folder"]

#: The sidecar every results folder holds (the same name as :data:`hotspots.export.gis.SIDECAR`).
SIDECAR = "parameters.json"
#: The sidecar's format tag (the same as :data:`hotspots.export.gis.SIDECAR_FORMAT`).
SIDECAR_FORMAT = "hotspots-parameters/1"
#: Hidden file present while a run writes into the folder.
LEDGER = ".hotspots-writing.json"
#: The commands that write a results folder; a folder one of them wrote is refused to the others.
COMMANDS = ("analyse", "national", "demo")


def output_names(command: str) -> tuple[str, ...]:
    """The files a run of ``command`` may write, as paths relative to the folder: a user's file of
    such a name in a folder an earlier run wrote would be overwritten, so it is refused; a user's
    file of any other name (``csv/my_table.csv``) is kept. The names come from the writers
    (:data:`hotspots.export.gis.LAYER_NAMES` and :data:`~hotspots.export.gis.CSV_TABLES`,
    :data:`hotspots.export.briefing.BRIEFING_MAPS`, :data:`hotspots.export.raster.ANALYSIS_RASTERS`,
    :data:`hotspots.export.national_outputs.RASTERS`);
    a command not in :data:`COMMANDS` has none.
    """
    if command == "analyse":
        from .export.briefing import BRIEFING_FORMATS, BRIEFING_MAPS
        from .export.gis import CSV_TABLES, LAYER_NAMES
        from .export.raster import ANALYSIS_RASTERS

        return (("hotspots.gpkg", "hotspots.tmp.gpkg") + tuple(f"geojson/{n}.geojson" for n in LAYER_NAMES)
                + tuple(ANALYSIS_RASTERS.values()) + tuple(f"{n}.tmp.tif" for n in ANALYSIS_RASTERS.values())
                + tuple(f"csv/{n}.csv" for n in CSV_TABLES)
                + tuple(f"maps/{stem}.{ext}" for stem in BRIEFING_MAPS.values() for ext in BRIEFING_FORMATS))
    if command == "national":
        from .export.national_outputs import RASTERS

        return tuple(r[0] for r in RASTERS) + ("hotspot_areas.gpkg", "hotspot_areas.tmp.gpkg", "overview.png")
    if command == "demo":
        return ("incidents.csv", "referrals.csv", "tasks.csv", "ground_truth.json", "README.md")
    return ()


def _earlier_command(sidecar: Any, ledger: Any) -> str | None:
    """The command (one of :data:`COMMANDS`) whose run wrote the folder last: the ledger's ``command``
    (a run that stopped half-way), else the sidecar's ``written_by``, else the first command word of
    its ``command`` line (folders of earlier versions); None when unknown."""
    for record, key in ((ledger, "command"), (sidecar, "written_by")):
        if isinstance(record, dict) and record.get(key) in COMMANDS:
            return str(record[key])
    line = sidecar.get("command") if isinstance(sidecar, dict) else None
    if isinstance(line, str):
        return next((w for w in line.split() if w in COMMANDS), None)
    return None


def _walk(root: Path) -> tuple[set[str], list[str]]:
    """Files (and links) under ``root`` as POSIX paths relative to it, and the links among them
    (links to folders included); links are never followed."""
    files: set[str] = set()
    links: list[str] = []
    for top, dirs, names in os.walk(root, followlinks=False):
        rel_top = Path(top).relative_to(root)
        for d in list(dirs):
            if (Path(top) / d).is_symlink():
                links.append((rel_top / d).as_posix())
                dirs.remove(d)
        for n in names:
            rel = (rel_top / n).as_posix()
            files.add(rel)
            if (Path(top) / n).is_symlink():
                links.append(rel)
    return files, sorted(links)


def _safe_relative(rel: Any) -> str | None:
    """``rel`` as a clean relative POSIX path inside the folder, or None when it is not one."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return None
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts):
        return None
    return p.as_posix()


def _read_json(path: Path) -> Any:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _remove(root: Path, rel: str) -> None:
    """Delete ``root/rel`` when it is a file or a link, never following a link on the way."""
    parts = PurePosixPath(rel).parts
    here = root
    for part in parts[:-1]:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except OSError:
            return
        if not stat.S_ISDIR(mode):  # a link (or a file) where a folder should be: not ours to pass
            return
    target = here / parts[-1]
    try:
        mode = os.lstat(target).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        os.unlink(target)  # a link is removed itself; its target is untouched


def _prune_empty(root: Path, rels: set[str]) -> None:
    """Remove folders that held only removed files (deepest first), never ``root`` itself."""
    dirs = {PurePosixPath(r).parent for r in rels}
    expanded = set()
    for d in dirs:
        while d.parts:
            expanded.add(d)
            d = d.parent
    for d in sorted(expanded, key=lambda p: len(p.parts), reverse=True):
        p = root / d
        with contextlib.suppress(OSError):
            if not p.is_symlink() and p.is_dir() and not any(p.iterdir()):
                p.rmdir()


def _write_json(path: Path, record: Mapping[str, Any]) -> None:
    """Write JSON next to ``path`` and rename it into place (a link at ``path`` is replaced, its
    target never written)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            json.dump(record, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class ResultsFolder:
    """The results folder of one run (see the module docstring).

    Creating it checks the path and refuses what may not be written to, without changing
    anything on disk (so a command can refuse before its long work); :meth:`begin` clears the
    earlier run's files and starts the run; :meth:`finish` lists what the run wrote.

    Parameters
    ----------
    out : str or path
        The folder: an existing one, or a new one whose parent folder exists
        (:func:`hotspots.validation.output_folder`; ``~`` is expanded).
    command : str
        The command writing it ("analyse", "demo", "national"), recorded when this module writes
        ``parameters.json`` itself.
    name : str
        The argument's name in messages (shown through :func:`hotspots.validation.shown`, so
        ``"out"`` reads ``--out`` on the command line).

    Attributes
    ----------
    path : Path
    kept : frozenset of str
        Files in the folder that are not hotspots' (never listed, never touched); set by :meth:`begin`.
    removed : tuple of str
        Files of an earlier run deleted by :meth:`begin` (said by :meth:`replaced_note`).

    Raises
    ------
    ParameterError
        ``out`` is ``/``, the home folder, a file, in a folder that does not exist, a non-empty
        folder hotspots did not write, a folder a run of another command wrote, a folder holding a
        user's file named as one this run writes, or a folder with symbolic links other than among
        an earlier run's files.
    """

    def __init__(self, out: Any, *, command: str, name: str = "out"):
        if isinstance(out, (str, os.PathLike)) and str(out).strip():
            out = Path(out).expanduser()
        self.path = validation.output_folder(out, name)
        self.command = command
        self.name = name
        self.kept: frozenset[str] = frozenset()
        self.removed: tuple[str, ...] = ()
        self.started = self.finished = False
        self._extra: dict[str, Any] = {}
        self._earlier_when = ""
        self._written: tuple[str, ...] = ()
        resolved = self.path.resolve()
        if resolved == Path(resolved.anchor):
            raise self._refuse("is the root of the file system. Give a new folder for the results, e.g. `results/`.")
        if resolved == Path.home().resolve():
            raise self._refuse("is your home folder. Give a new folder for the results, e.g. `~/hotspots-results`.")
        self._plan()

    def _refuse(self, why: str) -> ParameterError:
        return ParameterError(f"{validation.shown(self.name)} {str(self.path)!r} {why}")

    def _plan(self) -> tuple[set[str], set[str]]:
        """(hotspots' files to clear, other files to keep); refuses a folder that may not be written."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise self._refuse("exists and is not a folder; give a folder path.")
        if not path.exists():
            return set(), set()
        try:
            empty = not any(os.scandir(path))
        except OSError as exc:
            raise self._refuse(f"cannot be read ({exc.strerror or exc}). Check the path and permissions.") from None
        if empty:
            return set(), set()
        ledger = _read_json(path / LEDGER)
        sidecar = _read_json(path / SIDECAR)
        ours_by_format = isinstance(sidecar, dict) and str(sidecar.get("format", "")).startswith("hotspots-parameters/")
        files, links = _walk(path)
        if isinstance(ledger, dict) and isinstance(ledger.get("kept"), list):
            # An earlier run stopped half-way: everything but what was there before it is hotspots'.
            kept = {k for k in (_safe_relative(r) for r in ledger["kept"]) if k in files}
            ours = files - kept
        elif ours_by_format and isinstance(sidecar.get("files_written"), list):
            ours = {r for r in (_safe_relative(x) for x in sidecar["files_written"]) if r is not None}
            kept = files - ours
        else:
            shown = sorted(p.name for p in path.iterdir())[:5]
            why = "not written by hotspots"
            if ours_by_format:
                why = "written by an earlier version of hotspots that did not list its files"
            raise self._refuse(
                f"is not empty and was {why} (it holds {', '.join(shown)}{' ...' if len(shown) == 5 else ''}). hotspots never "
                "deletes or overwrites files it did not write: give a new or empty folder, or empty this one first."
            )
        earlier = _earlier_command(sidecar, ledger)
        if earlier is not None and self.command in COMMANDS and earlier != self.command:
            n = len(ours - {LEDGER})
            raise self._refuse(
                f"holds the results of an earlier `hotspots {earlier}` run ({n:,} file{'s' if n != 1 else ''}"
                f"{self._when()}); this `hotspots {self.command}` run would delete them. Give another `--out` for this run, "
                "or delete that folder first if its results are no longer needed."
            )
        names = set(output_names(self.command))
        clash = sorted(k for k in kept if k in names)
        if clash:
            raise self._refuse(
                f"holds file(s) of names this run writes but an earlier run did not ({', '.join(clash[:5])}"
                f"{' ...' if len(clash) > 5 else ''}): they are not hotspots' and would be overwritten. Move or rename them, "
                "or give another folder."
            )
        foreign = [ln for ln in links if ln not in ours]
        if foreign:
            raise self._refuse(
                f"holds symbolic link(s) ({', '.join(foreign[:5])}). hotspots does not write into folders with links, which "
                "would send its files to the links' targets. Remove the links or give another folder."
            )
        return ours, kept

    def begin(self) -> ResultsFolder:
        """Start writing: check again, create the folder or clear the earlier run's files, and
        record what is kept (in a ledger, until :meth:`finish`)."""
        ours, kept = self._plan()
        self._earlier_when = self._when()
        if not self.path.exists():
            try:
                self.path.mkdir()  # only the folder itself: its parent exists (validation.output_folder)
            except OSError as exc:
                raise self._refuse(f"cannot be created ({exc.strerror or exc}). Check the path and permissions.") from None
        for rel in sorted(ours):
            _remove(self.path, rel)
        _prune_empty(self.path, ours)
        files, links = _walk(self.path)
        if links:  # appeared since the check
            raise self._refuse(f"holds symbolic link(s) ({', '.join(links[:5])}); remove them or give another folder.")
        self.kept = frozenset(files & kept)
        self.removed = tuple(sorted(ours - {LEDGER}))
        _write_json(self.path / LEDGER, {"command": self.command, "kept": sorted(self.kept)})
        self.started = True
        return self

    def _when(self) -> str:
        """" of <date and time>" of the earlier run (its ``parameters.json`` last written), or ""."""
        try:
            t = os.lstat(self.path / SIDECAR).st_mtime
        except OSError:
            return ""
        return f" of {dt.datetime.fromtimestamp(t, dt.UTC):%Y-%m-%d %H:%M} UTC"

    def replaced_note(self) -> str | None:
        """One line on what this run replaced, for the console; None when the folder held no
        earlier run's files. E.g. ``"replaced the earlier run's 19 files of 2026-12-06 23:10 UTC in
        /data/results (not written again: maps/briefing_density.png)"``: the files :meth:`begin`
        deleted, the files among them this run did not write again (after :meth:`finish`; e.g. the
        maps of a run with ``--no-images``), and the folder's real path when it differs from the
        path given (``--out`` a symbolic link to a folder)."""
        removed = list(self.removed)
        if not removed:
            return None
        n = len(removed)
        real = self.path.resolve()
        where = f"in {real}" if real == self.path.absolute() else f"in {real} (`{self.path}` links there)"
        gone = sorted(set(removed) - set(self._written)) if self.finished else []
        more = f" (not written again: {', '.join(gone[:8])}{' ...' if len(gone) > 8 else ''})" if gone else ""
        return f"replaced the earlier run's {n:,} file{'s' if n != 1 else ''}{self._earlier_when} {where}{more}"

    def record(self, **entries: Any) -> None:
        """Entries to add to ``parameters.json`` when the run finishes (JSON values)."""
        self._extra.update(entries)

    def written(self) -> list[str]:
        """Files this run has written so far (relative POSIX paths, sorted)."""
        files, _ = _walk(self.path)
        return sorted(files - self.kept - {LEDGER})

    def finish(self) -> list[str]:
        """List the files this run wrote in ``parameters.json`` (``files_written``) and end the run.

        Returns
        -------
        list of str
            The files written (relative POSIX paths), ``parameters.json`` included.

        Raises
        ------
        ParameterError
            :meth:`begin` was not called, or a symbolic link appeared in the folder during the run.
        """
        if not self.started:
            raise ParameterError("internal: ResultsFolder.finish() before begin().")
        files, links = _walk(self.path)
        new_links = [ln for ln in links if ln not in self.kept]
        if new_links:
            raise ParameterError(
                f"{self.path}: symbolic link(s) appeared while hotspots was writing ({', '.join(new_links[:5])}); the "
                "results may have been written through them. Remove the links, check their targets, and run again."
            )
        side = self.path / SIDECAR
        record = _read_json(side)
        if not isinstance(record, dict):
            record = {"format": SIDECAR_FORMAT, "command": self.command}
        record.update(self._extra)
        if self.command in COMMANDS:
            record["written_by"] = self.command
        written = sorted((files - self.kept - {LEDGER}) | {SIDECAR})
        self._written = tuple(written)
        record["files_written"] = written
        _write_json(side, record)
        with contextlib.suppress(OSError):
            os.unlink(self.path / LEDGER)
        self.finished = True
        return written

    @contextlib.contextmanager
    def writing(self) -> Iterator[ResultsFolder]:
        """``begin()`` on entry, ``finish()`` when the block ends without an error (after an error
        the ledger stays, and the next run clears what this one wrote)."""
        self.begin()
        yield self
        if not self.finished:
            self.finish()


def results_folder(out: Any, *, command: str, name: str = "out") -> ResultsFolder:
    """Check ``out`` as the results folder of a run of ``command`` (see :class:`ResultsFolder`).

    Nothing changes on disk until :meth:`ResultsFolder.begin` (or ``with folder.writing():``), so a
    command calls this before its long work and refuses a bad ``--out`` at once::

        folder = results_folder(args.out, command="analyse")   # refuses now, changes nothing
        ...                                                    # load and analyse
        with folder.writing():                                 # clears the earlier run's files
            export_gis(analysis, folder.path, ...)
    """
    return ResultsFolder(out, command=command, name=name)


def check_output_file(out: Any, name: str = "out") -> Path:
    """Refuse a single output file (``hotspots map --out map.png``) that is a symbolic link: a
    writer would follow it and overwrite the link's target. Its other rules (suffix, an existing
    folder) are :func:`hotspots.validation.output_file`'s; an existing regular file is replaced.
    """
    path = Path(out).expanduser() if isinstance(out, (str, os.PathLike)) and str(out).strip() else None
    if path is not None and path.is_symlink():
        raise ParameterError(
            f"{validation.shown(name)} {str(path)!r} is a symbolic link; hotspots does not write through links (the link's "
            "target would be overwritten). Give another file name."
        )
    return path  # type: ignore[return-value]
