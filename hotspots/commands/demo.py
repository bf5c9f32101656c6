"""``hotspots demo``: write the synthetic demo data set."""

from __future__ import annotations

import argparse
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from ..demo import write_demo
    from ..results_folder import results_folder

    with results_folder(args.out, command="demo").writing() as folder:
        paths = write_demo(folder.path, seed=args.seed)
        folder.record(seed=args.seed)
    print(f"demo data (seed {args.seed}) written to {Path(args.out)}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="write the synthetic Derbyshire demo data set",
        description="Write deterministic synthetic demo data (incidents, referrals, task sites, ground truth).",
    )
    p.add_argument("--out", required=True,
                   help="output folder: new, empty, or written by an earlier run (its files are replaced); other folders are refused")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives byte-identical files")
    p.set_defaults(func=run)
