"""``hotspots fetch police-uk`` and ``hotspots fetch boundary``: download street-level crimes and
force boundaries from the data.police.uk API, into ``data/`` by default.

Exit status: 0 when every month was fetched, already complete, or not published yet; 3 when
some months failed (run the same command again to retry just those); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

#: Exit status when some months failed (the rest were written; rerun to resume).
EXIT_PARTIAL = 3


def stderr_log(args: argparse.Namespace) -> Callable[[str], None]:
    """One indented line on stderr per retry or notable event, unless ``--quiet``."""

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"  {msg}", file=sys.stderr, flush=True)

    return log


def check_arguments(args: argparse.Namespace) -> None:
    """The local files and folders named by the flags, checked before any network call.

    ``--out`` may be a new folder (police-uk) or file (boundary), but its parent folder must
    exist: the command never creates folders above the one named. ``--boundary`` must exist.
    """
    from .. import validation

    with validation.collect() as problems:
        if args.out is not None:
            if args.source == "police-uk":
                problems.check(validation.output_folder, args.out, "out")
            else:
                problems.check(validation.output_file, args.out, "out")
        if getattr(args, "boundary", None) is not None:
            problems.check(validation.input_path, args.boundary, "boundary")


def run_police_uk(args: argparse.Namespace) -> int:
    from ..fetch import API_BASE, fetch_police_uk

    check_arguments(args)

    def progress(res) -> None:  # noqa: ANN001 - MonthResult
        if args.quiet:
            return
        extra = f"{res.rows:,} rows" if res.status in ("fetched", "already done") else (res.error or "")
        print(f"{res.month}: {res.status} {extra}".rstrip(), flush=True)

    summary = fetch_police_uk(
        args.force,
        args.start,
        args.end,
        args.out,
        category=args.category,
        base_url=args.base_url or API_BASE,
        boundary=args.boundary,
        include_no_location=not args.skip_no_location,
        refresh=args.refresh,
        rate=args.rate,
        retries=args.retries,
        timeout=args.timeout,
        progress=progress,
        log=stderr_log(args),
    )
    print(str(summary))
    return 0 if summary.ok else EXIT_PARTIAL


def run_boundary(args: argparse.Namespace) -> int:
    from ..fetch import API_BASE, fetch_force_boundary

    check_arguments(args)
    result = fetch_force_boundary(
        args.force,
        args.out,
        base_url=args.base_url or API_BASE,
        rate=args.rate,
        retries=args.retries,
        timeout=args.timeout,
        log=stderr_log(args),
    )
    print(result.summary())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fetch",
        help="download public data (police.uk street-level crimes, force boundaries)",
        description="Download public data into files the loaders read.",
    )
    srcs = p.add_subparsers(dest="source", metavar="SOURCE")
    q = srcs.add_parser(
        "police-uk",
        help="street-level crimes of one force, month by month, from the data.police.uk API",
        description=(
            "Download street-level crimes of one force from the data.police.uk API into OUT/YYYY-MM-FORCE-street.csv "
            "(police.uk's file names; OUT is data/police_uk/FORCE by default). Resumable: months already complete are "
            "skipped, failed months are retried on the next run. LSOA columns are empty (the API does not give them). "
            "Exit status 3 when some months failed."
        ),
    )
    q.add_argument("--force", required=True, help="police.uk force id, e.g. derbyshire")
    q.add_argument("--from", dest="start", required=True, metavar="YYYY-MM", help="first month")
    q.add_argument("--to", dest="end", required=True, metavar="YYYY-MM", help="last month (inclusive)")
    q.add_argument("--out", default=None, help="output folder inside an existing folder (default data/police_uk/FORCE)")
    q.add_argument("--category", default="all-crime", help="API category slug, e.g. anti-social-behaviour (default all-crime)")
    q.add_argument("--base-url", default=None, help="API root (default https://data.police.uk/api)")
    q.add_argument(
        "--boundary", default=None, help="force-area boundary file (default: union of the force's neighbourhoods from the API)"
    )
    q.add_argument("--skip-no-location", action="store_true", help="do not fetch crimes that have no location")
    q.add_argument("--refresh", action="store_true", help="fetch every month again, also those already complete")
    q.add_argument("--rate", type=float, default=4.0, help="requests per second (default 4; police.uk allows 15)")
    q.add_argument("--retries", type=int, default=5, help="retries per request (default 5)")
    q.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer (default 60)")
    q.add_argument("--quiet", action="store_true", help="print only the summary")
    q.set_defaults(func=run_police_uk)

    b = srcs.add_parser(
        "boundary",
        help="a force's area (the union of its neighbourhoods) from the data.police.uk API, as GeoJSON",
        description=(
            "Download the boundaries of a force's neighbourhoods from the data.police.uk API and write their union as one "
            "GeoJSON file (WGS84), data/boundaries/FORCE.geojson by default. Use it as the study area: "
            "`hotspots analyse FILES --study-area data/boundaries/FORCE.geojson`."
        ),
    )
    b.add_argument("--force", required=True, help="police.uk force id or name, e.g. leicestershire or 'Leicestershire Police'")
    b.add_argument("--out", default=None, help="GeoJSON file to write (default data/boundaries/FORCE.geojson)")
    b.add_argument("--base-url", default=None, help="API root (default https://data.police.uk/api)")
    b.add_argument("--rate", type=float, default=4.0, help="requests per second (default 4; police.uk allows 15)")
    b.add_argument("--retries", type=int, default=5, help="retries per request (default 5)")
    b.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer (default 60)")
    b.add_argument("--quiet", action="store_true", help="print only the summary")
    b.set_defaults(func=run_boundary)

    def no_source(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_source)
