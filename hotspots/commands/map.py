"""``hotspots map``: one briefing map image (PNG or PDF) straight from the input files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import validation
from .._errors import ParameterError
from ..results_folder import check_output_file
from . import add_command
from .analyse import (
    ProgressBar,
    add_analysis_arguments,
    check_analysis_arguments,
    check_basemap,
    check_input_arguments,
    load_inputs,
    run_analysis,
    scaled,
    settings_from_args,
)

LAYER_CHOICES = ("density", "gistar", "counts", "areas", "clusters", "change", "emerging", "scheme")


def check_arguments(args: argparse.Namespace) -> dict[str, object]:
    """Every argument of ``hotspots map``, checked before anything is loaded; the image options."""
    from ..export.briefing import check_image_options

    with validation.collect() as problems:
        check_input_arguments(args, problems)
        check_analysis_arguments(args, problems)
        dpi = problems.check(validation.parse_number, args.dpi, "dpi")
        width = problems.check(validation.parse_number, args.width, "width")
        height = problems.check(validation.parse_number, args.height, "height")
        default = (40 / 3, 7.5) if args.before_after else (11.0, 7.5)
        size = (default[0] if width is None else width, default[1] if height is None else height)
        image = problems.check(check_image_options, args.out, dpi, size, new_folders=False)
        problems.check(check_output_file, args.out)  # never a link: its target would be overwritten
        check_basemap(args, problems)
        if args.layer == "scheme" and not args.before_after and not args.referrals and not args.demo:
            problems.add("`--layer scheme` needs `--referrals FILE` (the scheme's referrals; or `--demo`).")
        if args.layer == "clusters" and not args.before_after and args.cluster_method == "none":
            problems.add("`--layer clusters` draws the point clusters, which `--cluster-method none` leaves out; give "
                         "`--cluster-method dbscan` or `hdbscan`, or choose another `--layer`.")
        if args.no_change and not args.before_after:
            problems.add("`--no-change` leaves out the change panel of `--before-after`; add `--before-after`, or drop it.")
    common: dict[str, object] = dict(dpi=image[2], basemap=args.basemap, title=args.title)
    if args.width is not None or args.height is not None:
        common["size_in"] = image[3]
    return common


def check_emerging_months(incidents: object) -> None:
    """Refuse ``--layer emerging`` as soon as the prepared incidents show too few months for a trend,
    before the analysis runs (the rule: :func:`hotspots.emerging_summary.too_few_months`)."""
    from ..emerging_summary import too_few_months

    why = too_few_months(incidents)
    if why is not None:
        raise ParameterError(
            f"`--layer emerging` needs more months: {why}. Give more monthly files, or choose another `--layer`."
        )


def run(args: argparse.Namespace) -> int:
    from ..export import briefing_before_after, briefing_map

    t0 = time.perf_counter()
    common = check_arguments(args)
    out = Path(args.out)
    settings_from_args(args)  # the periods must not overlap
    say = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    inputs = load_inputs(args, say)
    if args.layer == "emerging" and not args.before_after:
        check_emerging_months(inputs.incidents)
    if args.before_after and inputs.settings.same_months:  # the periods chosen from the data: refused with or without --no-change
        from ..period_split import common_calendar_months

        common_calendar_months(*inputs.settings.change_periods())
    bar = ProgressBar(enabled=not args.quiet)
    analysis = run_analysis(args, inputs, scaled(bar, 0.0, 0.85))
    bar("drawing the map", 0.85)
    if args.before_after and analysis.change_cells is None and not args.no_change:
        from ..pipeline import no_change_message

        raise ParameterError(no_change_message(analysis.notes, inputs.all_incidents, without="add `--no-change`",
                                               periods_fix="Give `--before A:B --after C:D` within the data's months"))
    if args.before_after:
        img = briefing_before_after(analysis, out, incidents=inputs.all_incidents, show_change=not args.no_change,
                                    fit_height=args.height is None, **common)  # a height asked for is kept
    else:
        img = briefing_map(analysis, out, layer=args.layer, **common)
    bar("done", 1.0)
    bar.done()
    if img.basemap_warning:  # even with --quiet: the image lacks what was asked for
        print(f"warning: {img.basemap_warning}", file=sys.stderr, flush=True)
    print(
        f"{img.path}  ({img.size_text()}, {len(img.panels)} map panel{'s' if len(img.panels) != 1 else ''}, "
        f"basemap {img.basemap}; {time.perf_counter() - t0:.1f} s)"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "map", run, help="draw one briefing map (PNG or PDF)",
        aliases={"out_path": "--out", "size_in": "--width/--height", "categories": "--category",
                 "allow_identifying": "--drop-identifying"},
        description="Load the inputs, run the analysis and draw one briefing map: a layer, or before/after side by side.",
    )
    add_analysis_arguments(p)
    g = p.add_argument_group("map")
    g.add_argument("--out", required=True, metavar="FILE", help="image file, .png or .pdf")
    g.add_argument("--layer", choices=LAYER_CHOICES, default="density", help="what to draw (default density)")
    g.add_argument("--before-after", action="store_true", help="before and after side by side on one colour scale, plus change")
    g.add_argument("--no-change", action="store_true", help="with --before-after: leave out the change panel")
    g.add_argument("--title", help="map title (default from the data and layer)")
    g.add_argument("--dpi", default=300, help="resolution, dots per inch, 20 to 1200 (default 300)")
    g.add_argument("--width", metavar="IN", help="width in inches, 3 to 60 (default 11; 13.33 for --before-after)")
    g.add_argument("--height", metavar="IN", help="height in inches, 3 to 60 (default 7.5; with --before-after "
                   "at most 7.5, shorter when the maps and legend leave the bottom blank)")
    g.add_argument("--basemap", default="none",
                   help="'none' (default: nothing is fetched), 'auto' (tiles when reachable: asks a public tile server "
                   "for the area), 'osm' or a tile URL template")
    g.add_argument("--quiet", action="store_true", help="no load reports or progress")
