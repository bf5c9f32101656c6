"""Command line: ``hotspots demo``, ``hotspots load``, ``hotspots analyse``, ``hotspots map``, ...

The CLI only wires arguments to library calls and prints results. Every command has ``--help``.
Every argument is checked before any data is loaded; bad input ends with a one-line message on
stderr naming the flag (``--alpha``, not the library's ``alpha``) and exit status 2, never a
usage dump or a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from ._errors import HotspotsError

__all__ = ["main", "build_parser", "flag_names"]

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_BUG = 1


#: Modules under :mod:`hotspots.commands`, one per sub-command, in the order shown by --help.
COMMANDS = ("demo", "load", "fetch", "analyse", "map", "national")


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: message``) and exit status 2.

    argparse prints the whole usage before its message; the usage of ``hotspots analyse`` alone is
    a dozen lines, which buries the message. ``--help`` still prints the usage.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {one_line(message)} (see `{self.prog} --help`)\n")


def one_line(text: object) -> str:
    """``text`` with every run of white space (newlines included) made one space."""
    return " ".join(str(text).split())


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="hotspots",
        description="Hotspot analysis of anti-social behaviour for immediate justice schemes.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"hotspots {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"hotspots.commands.{name}").register(sub)
    return parser


def flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Argument name → the flag that sets it (``{"cell_size": "--cell-size", ...}``), for messages.

    Positional arguments map to their metavar (``INPUT``). A sub-command adds the library's own
    names for its arguments in ``parser.argument_aliases`` (e.g. ``size_in`` → ``--width/--height``).
    """
    names: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action.choices, dict):  # nested sub-commands (``fetch police-uk``)
            for nested in action.choices.values():
                names.update(flag_names(nested))
            continue
        if action.dest in (argparse.SUPPRESS, "help"):
            continue
        if action.option_strings:
            names[action.dest] = max(action.option_strings, key=len)
        else:
            names[action.dest] = str(action.metavar or action.dest).upper()
    names.update(getattr(parser, "argument_aliases", {}))
    return names


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from .validation import argument_names

    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        sub = _subparser(parser, getattr(args, "command", None) or "")
        if extra:
            (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a one-line usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_INPUT
    # the words the user typed, recorded as the run's command (hotspots.commands.command_text)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    names = flag_names(sub) if sub is not None else {}
    prog = " ".join(["hotspots", args.command] + ([args.source] if getattr(args, "source", None) else []))
    try:
        with argument_names(names):
            return func(args)
    except HotspotsError as exc:
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:  # a file or folder that cannot be read or written, a full disk, the network
        where = f": {exc.filename}" if exc.filename is not None else ""
        print(f"{prog}: error: {one_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, traceback on request
        if os.environ.get("HOTSPOTS_DEBUG"):
            raise
        print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(exc)} "
            "(set HOTSPOTS_DEBUG=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
