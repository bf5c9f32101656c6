"""Sub-commands of the ``hotspots`` command line, one module each.

Each module defines ``register(subparsers)``, which adds its parser (with :func:`add_command`)
and sets ``func`` to a function ``(args) -> exit status``. :mod:`hotspots.cli` lists the modules in ``COMMANDS``.
Modules import the library lazily inside ``func`` so that ``hotspots --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

__all__ = ["add_command"]


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
