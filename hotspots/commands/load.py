"""``hotspots load``: load files and print the load report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .._errors import HotspotsError


def month_range(text: str) -> tuple[str, str]:
    """``"2023-01:2023-12"`` -> ``("2023-01", "2023-12")``."""
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise HotspotsError(f"`--months` must look like 2023-01:2023-12; got {text!r}.")
    return parts[0], parts[1]


def run(args: argparse.Namespace) -> int:
    from ..io import load_any

    options: dict = {}
    if args.category:
        options["categories"] = args.category
    if args.months:
        options["months"] = month_range(args.months)
    loaded = load_any([Path(p) for p in args.paths], kind=args.kind, **options)
    report = loaded.report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(str(report) if args.report else report.summary())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load",
        help="load files and print what was read, kept and dropped",
        description="Load incident, referral or task files and print the load report.",
    )
    p.add_argument("paths", nargs="+", help="files, folders or zip archives")
    p.add_argument("--kind", choices=["incidents", "referrals", "tasks"], default="incidents", help="what the files hold (default incidents)")
    p.add_argument("--report", action="store_true", help="print the full report (drop reasons with example rows, notes, warnings)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--category", action="append", help="keep only this category (repeatable), e.g. 'Anti-social behaviour'")
    p.add_argument("--months", help="keep only months in FROM:TO, e.g. 2025-01:2025-06")
    p.set_defaults(func=run)
