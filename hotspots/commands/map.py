"""``hotspots map``: one briefing map image (PNG or PDF) straight from the input files."""

from __future__ import annotations

import argparse
import time

from .._errors import ParameterError
from ..results_folder import check_output_file
from .analyse import ProgressBar, add_analysis_arguments, load_inputs, run_analysis, scaled

LAYER_CHOICES = ("density", "gistar", "counts", "areas", "clusters", "change", "scheme")


def run(args: argparse.Namespace) -> int:
    from ..export import briefing_before_after, briefing_map

    t0 = time.perf_counter()
    out = check_output_file(args.out, suffixes=(".png", ".pdf"))  # never a link (its target would be overwritten)
    say = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    inputs = load_inputs(args, say)
    bar = ProgressBar(enabled=not args.quiet)
    analysis = run_analysis(args, inputs, scaled(bar, 0.0, 0.85))
    bar("drawing the map", 0.85)
    size = None
    if args.width is not None or args.height is not None:
        default = (40 / 3, 7.5) if args.before_after else (11.0, 7.5)
        size = (args.width or default[0], args.height or default[1])
    common = dict(dpi=args.dpi, basemap=args.basemap, title=args.title)
    if size is not None:
        common["size_in"] = size
    if args.before_after and analysis.change_cells is None and not args.no_change:
        why = next((n for n in analysis.notes if n.startswith("before/after change not computed")), "no before/after change")
        raise ParameterError(f"{why} Give `--before A:B --after C:D` within the data's months, or add `--no-change`.")
    if args.before_after:
        img = briefing_before_after(analysis, out, incidents=inputs.all_incidents, show_change=not args.no_change, **common)
    else:
        img = briefing_map(analysis, out, layer=args.layer, **common)
    bar("done", 1.0)
    bar.done()
    print(
        f"{img.path}  ({img.size_px[0]} x {img.size_px[1]} px at {img.dpi:g} dpi, {len(img.panels)} map panel(s), "
        f"basemap {img.basemap}; {time.perf_counter() - t0:.1f} s)"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="draw one briefing map (PNG or PDF)",
        description="Load the inputs, run the analysis and draw one briefing map: a layer, or before/after side by side.",
    )
    add_analysis_arguments(p)
    g = p.add_argument_group("map")
    g.add_argument("--out", required=True, metavar="FILE", help="image file, .png or .pdf")
    g.add_argument("--layer", choices=LAYER_CHOICES, default="density", help="what to draw (default density)")
    g.add_argument("--before-after", action="store_true", help="before and after side by side on one colour scale, plus change")
    g.add_argument("--no-change", action="store_true", help="with --before-after: leave out the change panel")
    g.add_argument("--title", help="map title (default from the data and layer)")
    g.add_argument("--dpi", type=float, default=300, help="resolution (default 300)")
    g.add_argument("--width", type=float, metavar="IN", help="width in inches (default 11; 13.33 for --before-after)")
    g.add_argument("--height", type=float, metavar="IN", help="height in inches (default 7.5)")
    g.add_argument("--basemap", default="none",
                   help="'none' (default: nothing is fetched), 'auto' (tiles when reachable: asks a public tile server for the area), "
                   "'osm' or a tile URL template")
    g.add_argument("--quiet", action="store_true", help="no load reports or progress")
    p.set_defaults(func=run)
