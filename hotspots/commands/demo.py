"""``hotspots demo``: write the synthetic demo data set."""

from __future__ import annotations

import argparse

from .. import validation
from . import add_command


def run(args: argparse.Namespace) -> int:
    from ..demo import write_demo

    with validation.collect() as problems:
        seed = problems.check(validation.parse_number, args.seed, "seed", whole=True)
        seed = problems.check(validation.seed, seed, optional=False) if seed is not None else None
        out = problems.check(validation.output_folder, args.out, "out")
    paths = write_demo(out, seed=seed)
    print(f"demo data (seed {seed}) written to {out}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo", run, help="write the synthetic Derbyshire demo data set", aliases={"out_dir": "--out"},
                    description="Write deterministic synthetic demo data (incidents, referrals, task sites, ground truth).")
    p.add_argument("--out", required=True, help="output folder (created if missing; its parent folder must exist)")
    p.add_argument("--seed", default=0, help="random seed (default 0); the same seed gives byte-identical files")
