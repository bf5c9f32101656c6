"""Command line: ``hotspots demo``, ``hotspots load``, ``hotspots analyse``, ``hotspots map``, ...

The CLI only wires arguments to library calls and prints results. Every command has ``--help``;
bad input ends with a one-line message on stderr and a non-zero exit status (2 for input and
usage errors), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from ._errors import HotspotsError

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_BUG = 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import write_demo

    paths = write_demo(args.out, seed=args.seed)
    print(f"demo data (seed {args.seed}) written to {Path(args.out)}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return EXIT_OK


def _cmd_load(args: argparse.Namespace) -> int:
    from .io import load_any

    options: dict = {}
    if args.category:
        options["categories"] = args.category
    if args.months:
        options["months"] = _month_range(args.months)
    loaded = load_any([Path(p) for p in args.paths], kind=args.kind, **options)
    report = loaded.report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(str(report) if args.report else report.summary())
    return EXIT_OK


def _month_range(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise HotspotsError(f"`--months` must look like 2023-01:2023-12; got {text!r}.")
    return parts[0], parts[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotspots",
        description="Hotspot analysis of anti-social behaviour for immediate justice schemes.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"hotspots {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="write the synthetic Derbyshire demo data set", description="Write deterministic synthetic demo data (incidents, referrals, task sites, ground truth).")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives byte-identical files")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("load", help="load files and print what was read, kept and dropped", description="Load incident, referral or task files and print the load report.")
    p.add_argument("paths", nargs="+", help="files, folders or zip archives")
    p.add_argument("--kind", choices=["incidents", "referrals", "tasks"], default="incidents", help="what the files hold (default incidents)")
    p.add_argument("--report", action="store_true", help="print the full report (drop reasons with example rows, notes, warnings)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--category", action="append", help="keep only this category (repeatable), e.g. 'Anti-social behaviour'")
    p.add_argument("--months", help="keep only months in FROM:TO, e.g. 2025-01:2025-06")
    p.set_defaults(func=_cmd_load)

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
