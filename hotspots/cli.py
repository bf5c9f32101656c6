"""Command line: ``hotspots demo``, ``hotspots load``, ``hotspots analyse``, ``hotspots map``, ...

The CLI only wires arguments to library calls and prints results. Every command has ``--help``;
bad input ends with a one-line message on stderr and a non-zero exit status (2 for input and
usage errors), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Sequence

from ._errors import HotspotsError

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_BUG = 1


#: Modules under :mod:`hotspots.commands`, one per sub-command, in the order shown by --help.
COMMANDS = ("demo", "load", "fetch", "analyse", "map", "national")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotspots",
        description="Hotspot analysis of anti-social behaviour for immediate justice schemes.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"hotspots {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"hotspots.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_INPUT
    try:
        return func(args)
    except HotspotsError as exc:
        print(f"hotspots {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"hotspots {args.command}: error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"hotspots {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, traceback on request
        if os.environ.get("HOTSPOTS_DEBUG"):
            raise
        print(
            f"hotspots {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set HOTSPOTS_DEBUG=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
