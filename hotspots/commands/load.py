"""``hotspots load``: load files and print the load report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import validation
from .._errors import InputError
from . import add_command

#: Where the load command's own output shows why rows were dropped (the fix of its dropped-rows warning).
DROPPED_CHECK = "the reasons are above (`--report` adds example rows)"


def check_arguments(args: argparse.Namespace) -> dict:
    """Every argument, checked before anything is read; the loader's options."""
    options: dict = {}
    with validation.collect() as problems:
        for path in args.paths:
            problems.check(validation.input_path, path, "paths")
        if args.category:
            options["categories"] = args.category
        if args.crs is not None:
            from ..io.coords import resolve_crs

            options["crs"] = args.crs
            problems.check(resolve_crs, args.crs)
        if getattr(args, "swap_xy", False):
            options["swap_xy"] = True
        if args.months:
            options["months"] = problems.check(validation.month_range, args.months, "months", open_ends=True)
        if args.drop_identifying:
            if args.kind != "referrals":
                problems.add("`--drop-identifying` is for referral files: give it with `--kind referrals`.")
            options["allow_identifying"] = args.drop_identifying
    return options


def run(args: argparse.Namespace) -> int:
    from ..io import dropped_share_text, load_any

    options = check_arguments(args)
    loaded = load_any([Path(p) for p in args.paths], kind=args.kind, **options)
    report = loaded.report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif args.report:
        print(str(report))
    else:  # the summary, and what deserves attention (a missing month, ids read twice) even without --report
        print("\n".join([report.summary(), *(f"  warning: {w}" for w in report.warnings)]))
    if not args.json and (most := dropped_share_text(report, kind=args.kind, check=DROPPED_CHECK)):
        print(f"  WARNING: {most}")  # the rule `hotspots analyse` and the app warn with (most of the file dropped)
    if args.kind == "referrals" and not args.json:
        # exact on purpose: this command is for the analyst checking the file they hold; what an
        # analysis publishes (its summary, parameters.json, the app) protects these counts of people
        print("  note: exact counts of people, for checking the file only; do not publish them (`hotspots analyse` "
              "gives them protected)")
    if report.rows_kept == 0:
        # nothing to analyse: a script (or `&&`) must not go on as if the files had loaded
        reasons = ", ".join(f"{why}: {n:,}" for why, n in report.dropped.items()) or "the files hold no rows"
        raise InputError(f"no rows kept of {report.rows_read:,} read ({reasons}); the report above says why (with "
                         "`--report`, example rows).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "load", run, help="load files and print what was read, kept and dropped",
                    description="Load incident, referral or task files and print the load report.",
                    aliases={"categories": "--category", "allow_identifying": "--drop-identifying"})
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or zip archives")
    p.add_argument("--kind", choices=["incidents", "referrals", "tasks"], default="incidents",
                   help="what the files hold (default incidents)")
    p.add_argument("--report", action="store_true",
                   help="print the full report (drop reasons with example rows, notes, per-file lines); "
                        "without it, the summary and the warnings")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--drop-identifying", action="append", metavar="COL",
                   help="with --kind referrals: drop this identifier-like column on load instead of refusing the file "
                        "(repeatable)")
    p.add_argument("--category", action="append", help="keep only this category (repeatable), e.g. 'Anti-social behaviour'")
    p.add_argument("--months", metavar="A:B",
                   help="keep only months A to B, written YYYY-MM:YYYY-MM, e.g. 2025-01:2025-06 (either end may be left empty)")
    p.add_argument("--crs", metavar="CRS",
                   help="coordinate system of the files' x/y columns, e.g. EPSG:2157 (Irish Transverse Mercator) or "
                        "EPSG:29903 (Irish Grid); default: the file's own, else told from the values")
    p.add_argument("--swap-xy", action="store_true",
                   help="the files' x and y columns are exchanged (latitude in the Longitude column): read them swapped")
