"""``hotspots demo``: write the synthetic demo data set."""

from __future__ import annotations

import argparse

from .. import validation
from . import add_command, command_record


def run(args: argparse.Namespace) -> int:
    from ..demo import write_demo
    from ..results_folder import results_folder

    with validation.collect() as problems:
        seed = problems.check(validation.parse_number, args.seed, "seed", whole=True)
        seed = problems.check(validation.seed, seed, optional=False) if seed is not None else None
        folder = problems.check(results_folder, args.out, command="demo")
    with folder.writing():  # type: ignore[union-attr]  # (collect raised if the folder was refused)
        paths = write_demo(folder.path, seed=seed)
        folder.record(seed=seed, **command_record(args, "demo"))  # the command as typed, to rerun it
    out = folder.path
    print(f"demo data (seed {seed}) written to {out}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    replaced = folder.replaced_note()  # an earlier run's files deleted: said, never silent
    if replaced:
        print(f"  {replaced}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo", run, help="write the synthetic Derbyshire demo data set", aliases={"out_dir": "--out"},
                    description="Write deterministic synthetic demo data (incidents, referrals, task sites, ground truth).")
    p.add_argument("--out", required=True,
                   help="output folder: new (its parent must exist), empty, or written by an earlier demo run "
                   "(its files are replaced, and the run says so); other folders are refused")
    p.add_argument("--seed", default=0, help="random seed (default 0); the same seed gives byte-identical files")
