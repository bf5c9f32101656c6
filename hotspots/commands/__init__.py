"""Sub-commands of the ``hotspots`` command line, one module each.

Each module defines ``register(subparsers)``, which adds its parser (with :func:`add_command`)
and sets ``func`` to a function ``(args) -> exit status``. :mod:`hotspots.cli` lists the modules in ``COMMANDS``.
Modules import the library lazily inside ``func`` so that ``hotspots --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Mapping

__all__ = ["add_command", "command_text", "command_record"]

#: The program name a recorded command starts with (the installed entry point).
PROG = "hotspots"


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    help: str,
    description: str,
    aliases: Mapping[str, str] | None = None,
) -> argparse.ArgumentParser:
    """Add the sub-command ``name``, which calls ``run(args)``; returns its parser for the arguments.

    ``aliases`` maps the library's names for its arguments to the flags that set them
    (``{"out_dir": "--out"}``), for messages (see :func:`hotspots.cli.flag_names`).
    """
    p = sub.add_parser(name, help=help, description=description)
    p.set_defaults(func=run)
    p.argument_aliases = dict(aliases or {})  # type: ignore[attr-defined]
    return p


def command_text(args: argparse.Namespace, command: str) -> str:
    """The command line of this run as one shell line, for ``parameters.json``: pasted into a shell
    in the same folder, it runs the same analysis again.

    The words are those the user typed (``args.argv``, set by :func:`hotspots.cli.main`): paths as
    given (relative paths stay relative; see the sidecar's ``working_directory``), ``--out``
    included, each word quoted for a POSIX shell (:func:`shlex.join`). Without ``args.argv`` (``run``
    called with arguments built by the parser), the line is rebuilt from ``args``: the inputs as
    given, then every option that has a value, ``--out`` among them.

    Parameters
    ----------
    args : argparse.Namespace
        The sub-command's parsed arguments.
    command : str
        The sub-command's name (``"analyse"``, ``"national"``).

    Returns
    -------
    str
        E.g. ``"hotspots analyse 'data/2025 01.csv' --out results --cell-size 100"``.
    """
    argv = getattr(args, "argv", None)
    if argv is not None:
        # (no `map(...)` in this module: importing the sub-command hotspots.commands.map binds `map` here)
        return shlex.join([PROG, *(str(a) for a in argv)])
    parts = [PROG, command, *(str(p) for p in getattr(args, "inputs", None) or [])]
    for name, value in sorted(vars(args).items()):
        if name in ("inputs", "func", "command", "argv") or value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, tuple):
            parts += [flag, ":".join(str(v) for v in value)]
        elif isinstance(value, list):
            for v in value:
                parts += [flag, str(v)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def command_record(args: argparse.Namespace, command: str) -> dict[str, str]:
    """The sidecar's entries that rerun a command: ``command`` (:func:`command_text`) and
    ``working_directory`` (the folder it ran in, which relative paths in it are relative to)."""
    return {"command": command_text(args, command), "working_directory": os.getcwd()}
