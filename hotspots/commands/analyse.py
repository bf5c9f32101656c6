"""``hotspots analyse``: from raw files to a results folder (GIS files, tables, briefing maps).

Loads the inputs with :mod:`hotspots.io` (printing each load report), runs
:func:`hotspots.analyse` with a progress bar on stderr, writes :func:`hotspots.export.export_gis`
and the briefing images, and prints a summary. The argument helpers here are shared with
``hotspots map``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .. import validation
from .._errors import ParameterError
from ..pipeline import AUTO_AREA_SHARE, PERIODS_NOT_CHOSEN, change_missing_reason
from ..style import blank_percent_legend, change_text, file_size, shorten
from . import add_command, command_record


# =============================================================================== progress
class ProgressBar:
    """A one-line text progress bar on a stream (stderr); plain lines when it is not a terminal."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True, width: int = 28):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._last = ""

    def __call__(self, step: str, fraction: float) -> None:
        if not self.enabled:
            return
        f = min(max(float(fraction), 0.0), 1.0)
        filled = int(round(f * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {f * 100:3.0f}%  {step}  ({time.perf_counter() - self.t0:.1f} s)"
        if self.tty:
            pad = max(0, len(self._last) - len(line))
            self.stream.write("\r" + line + " " * pad)
            if f >= 1.0:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last = line

    def done(self) -> None:
        if self.enabled and self.tty and self._last and not self._last.startswith("[" + "#" * self.width):
            self.stream.write("\n")
            self.stream.flush()


def scaled(progress: Callable[[str, float], None], start: float, end: float) -> Callable[[str, float], None]:
    """A progress callback mapping 0..1 to ``start..end`` of an outer bar."""

    def inner(step: str, f: float) -> None:
        progress("analysis done" if step == "done" and end < 1.0 else step, start + (end - start) * f)

    return inner


# =============================================================================== arguments
#: Analysis options given as numbers: argument → (whole number?, check, keyword arguments of the check).
_NUMBERS: dict[str, tuple[bool, Callable[..., Any], dict[str, Any]]] = {
    "cell_size": (False, validation.distance, {"optional": True}),
    "bandwidth": (False, validation.bandwidth, {"optional": True}),
    "distance": (False, validation.distance, {"optional": True}),
    "eps": (False, validation.distance, {"optional": True}),
    "ring": (False, validation.distance, {"zero": True, "example": "500"}),
    "alpha": (False, validation.significance, {}),
    "permutations": (True, validation.permutations, {}),
    "seed": (True, validation.seed, {"optional": False}),
    "min_confidence": (False, validation.choice, {"options": (0.9, 0.95, 0.99)}),
    "min_samples": (True, validation.whole, {"low": 1, "example": "20"}),
    "threshold": (True, validation.whole, {"low": 1, "example": "5"}),
}


def add_analysis_arguments(p: argparse.ArgumentParser) -> None:
    """Inputs and analysis options shared by ``hotspots analyse`` and ``hotspots map``.

    Values stay text here: :func:`check_analysis_arguments` converts and checks them all at once,
    so that every problem is reported in one line naming its flag, before anything is loaded.
    """
    p.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="incident files, folders or zip archives (police.uk street CSVs or any table)"
    )
    p.add_argument(
        "--demo", action="store_true", help="run on freshly generated synthetic demo data (with its referrals and task sites)"
    )
    p.add_argument(
        "--crs", metavar="CRS",
        help="coordinate system of the INPUT files' x/y columns, e.g. EPSG:2157 (Irish Transverse Mercator) or EPSG:29903 "
        "(Irish Grid) for Northern Ireland; default: the file's own, else longitude/latitude or British National Grid "
        "told from the values (police.uk files are always longitude/latitude)",
    )
    p.add_argument(
        "--swap-xy", action="store_true",
        help="the INPUT files' x and y columns are exchanged (latitude in the Longitude column): read them swapped",
    )
    g = p.add_argument_group("scheme data and study area")
    g.add_argument("--referrals", metavar="F", help="referrals file (person-level, pseudonymised)")
    g.add_argument(
        "--drop-identifying",
        action="append",
        metavar="COL",
        help="drop this identifier-like referral column on load instead of refusing the file (repeatable)",
    )
    g.add_argument("--tasks", metavar="F", help="reparative task sites file")
    g.add_argument(
        "--study-area",
        metavar="F",
        help="boundary file (e.g. from `hotspots fetch boundary`), 'default' (built-in Derbyshire outline) or 'none'; "
        f"default: the Derbyshire outline when at least {AUTO_AREA_SHARE * 100:.0f}%% of incidents fall inside "
        "it, else the footprint of the incidents (strays left out, counted and announced; none for British Transport "
        "Police, whose ground is a network of railways, not an area)",
    )
    g.add_argument(
        "--force",
        metavar="NAME",
        help="the police force (name or police.uk id) for titles and parameters.json; default: police.uk's 'Falls within' column",
    )
    g.add_argument(
        "--keep-holes",
        action="store_true",
        help="keep every hole of the --study-area boundary (default: holes the data cover are filled, announcing the incidents "
        "brought in; empty ones are kept)",
    )
    g.add_argument(
        "--category",
        action="append",
        metavar="C",
        help="keep only this incident category (repeatable); default: 'Anti-social behaviour' when the data hold it "
        "among other categories; 'all' keeps every category",
    )
    g = p.add_argument_group("periods (months written YYYY-MM, first and last included)")
    g.add_argument("--period", metavar="A:B", help="months whose incidents define the hotspots, e.g. 2024-01:2024-12")
    g.add_argument("--before", metavar="A:B", help="before period for change, e.g. 2022-07:2023-06")
    g.add_argument("--after", metavar="C:D", help="after period for change, e.g. 2023-07:2024-06")
    g.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="the referral extract's date: re-offending follow-up windows that ended by it are counted (default: the first "
        "day of the month of the latest date in the referral file, said in the summary)",
    )
    g.add_argument(
        "--scheme-start",
        metavar="YYYY-MM-DD",
        help="when the scheme started; default before/after = up to 12 months either side of it. Without it: the "
        "first referral's day with --referrals, the demo data's own (2023-07-01) with the demo, else none, and the "
        "data's months alone choose the periods (the latest two whole years, or the two halves)",
    )
    g.add_argument(
        "--same-months", action="store_true",
        help="compare the same calendar months only: each period keeps only the months of the year the other also "
        "holds (Jan-Sep 2025 against Oct 2024-Sep 2025 compares Jan-Sep with Jan-Sep), so seasonality cannot pass for "
        "a change; as the app's 'Compare the same calendar months only'",
    )
    g.add_argument(
        "--keep-months", metavar="M,M",
        help="months to keep in the before/after comparison although they hold far fewer rows than the force's typical "
        "month (taken otherwise as published in part and left out), e.g. 2025-06",
    )
    g.add_argument(
        "--ring", metavar="M",
        help="width of the ring around each hotspot area where displaced harm would show, metres (default 500; 0: no "
        "displacement rows); the rings' change is compared with the rest of the study area beyond them",
    )
    g = p.add_argument_group("analysis settings (default: automatic, announced in the summary)")
    g.add_argument("--cell-size", metavar="M", help="grid cell size, metres")
    g.add_argument("--bandwidth", metavar="M", help="KDE bandwidth, metres")
    g.add_argument("--kernel", choices=["quartic", "gaussian", "epanechnikov"], help="KDE kernel (default quartic)")
    g.add_argument("--distance", metavar="M", help="Gi* neighbourhood distance band, metres")
    g.add_argument("--alpha", metavar="A", help="significance level, above 0 and at most 0.2 (default 0.05)")
    g.add_argument("--no-fdr", action="store_true", help="no false discovery rate control")
    g.add_argument("--permutations", metavar="N", help="Gi* conditional permutations, "
                   f"0 to {validation.MAX_PERMUTATIONS:,} (default 0: the exact count test)")
    g.add_argument("--seed", default=0, metavar="S", help="seed for every random step and for --demo (default 0)")
    g.add_argument(
        "--min-confidence", metavar="{0.9,0.95,0.99}",
        help="lowest Gi* confidence of hotspot-area cells (default: 1 - alpha, 0.95 at the default alpha)",
    )
    g.add_argument("--cluster-method", choices=["dbscan", "hdbscan", "none"], help="point clustering (default dbscan)")
    g.add_argument("--eps", metavar="M", help="DBSCAN radius, metres (default 150)")
    g.add_argument("--min-samples", metavar="N", help="DBSCAN/HDBSCAN core size (default 20)")
    g.add_argument(
        "--threshold", metavar="N", help="suppress person-level counts below N (default 5; below 3 needs --unsafe-threshold)"
    )
    g.add_argument(
        "--unsafe-threshold",
        action="store_true",
        help="allow --threshold 1 or 2 (counts of individual people are then published; every output says so)",
    )


def check_analysis_arguments(args: argparse.Namespace, problems: validation.Problems) -> None:
    """Convert the analysis options from text and check them, in place; problems go to ``problems``.

    Checking twice changes nothing (values already converted pass through).
    """
    for name, (whole, check, options) in _NUMBERS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        value = problems.check(validation.parse_number, value, name, whole=whole)
        setattr(args, name, None if value is None else problems.check(check, value, name, **options))
    # given, even when malformed: a reversed `--before` is its own problem, not a missing flag
    given = {name: getattr(args, name, None) is not None for name in ("before", "after")}
    for name in ("period", "before", "after"):
        if getattr(args, name, None) is not None:
            setattr(args, name, problems.check(validation.month_range, getattr(args, name), name))
    if getattr(args, "keep_months", None) is not None and not isinstance(args.keep_months, tuple):
        args.keep_months = problems.check(keep_months_arg, args.keep_months)
    if args.scheme_start is not None:
        day = problems.check(validation.date, args.scheme_start, "scheme_start")
        args.scheme_start = None if day is None else day.isoformat()
    if getattr(args, "as_of", None) is not None:
        day = problems.check(validation.date, args.as_of, "as_of")
        args.as_of = None if day is None else day.isoformat()
    if given["before"] != given["after"]:
        problems.add("give both `--before` and `--after` (or neither, for periods chosen from the data and the scheme start).")
    if isinstance(getattr(args, "threshold", None), int) and not getattr(args, "unsafe_threshold", False):
        from ..disclosure import check_threshold

        problems.check(check_threshold, args.threshold, False)


def keep_months_arg(text: str) -> tuple[str, ...]:
    """``--keep-months 2025-06,2025-08`` as ``("2025-06", "2025-08")`` (ParameterError naming the flag otherwise)."""
    from ..coverage import month_label, month_number

    try:
        return tuple(month_label(month_number(t.strip())) for t in str(text).split(",") if t.strip())
    except ParameterError as exc:
        raise ParameterError(f"{validation.shown('keep_months')}: {exc}") from None


def check_input_arguments(args: argparse.Namespace, problems: validation.Problems) -> None:
    """The input files named exist, and the data come from files or `--demo`, not both."""
    if args.demo and args.inputs:
        problems.add("give either INPUT files or `--demo`, not both.")
    elif not args.demo and not args.inputs:
        problems.add("give at least one INPUT file or folder (or `--demo` for the synthetic demo data).")
    for path in args.inputs or []:
        problems.check(validation.input_path, path, "inputs")
    if getattr(args, "crs", None) is not None:
        from ..io.coords import resolve_crs

        problems.check(resolve_crs, args.crs)
    for name in ("referrals", "tasks", "study_area"):
        value = getattr(args, name, None)
        if value is not None and not (name == "study_area" and value in ("default", "none")):
            problems.check(validation.input_path, value, name)


def check_basemap(args: argparse.Namespace, problems: validation.Problems) -> None:
    from ..export._basemap import resolve_source

    problems.check(resolve_source, args.basemap)


def settings_from_args(args: argparse.Namespace) -> Any:
    """The analysis :class:`~hotspots.pipeline.Settings` the options ask for (checked first)."""
    from ..pipeline import Settings

    with validation.collect() as problems:
        check_analysis_arguments(args, problems)
    changes: dict[str, Any] = {}
    for name in (
        "seed",
        "cell_size",
        "bandwidth",
        "kernel",
        "distance",
        "alpha",
        "permutations",
        "min_confidence",
        "cluster_method",
        "eps",
        "min_samples",
        "threshold",
        "period",
        "before",
        "after",
        "scheme_start",
        "keep_months",
        "as_of",
    ):
        v = getattr(args, name, None)
        if v is not None:
            changes[name] = v
    if getattr(args, "ring", None) is not None:
        changes["ring_m"] = float(args.ring)
    if args.no_fdr:
        changes["fdr"] = False
    if getattr(args, "same_months", False):
        changes["same_months"] = True
    if getattr(args, "unsafe_threshold", False):
        changes["unsafe_threshold"] = True
    settings = Settings().replace(**changes)
    periods = settings.change_periods()  # the before and after periods must not overlap, and "after" must come later
    if settings.same_months and settings.before and settings.after:  # known from the arguments alone
        from ..period_split import common_calendar_months

        common_calendar_months(*periods)
    return settings


class Inputs:
    """What was loaded and prepared, for the analysis and the sidecar."""

    def __init__(self) -> None:
        self.incidents: Any = None
        self.all_incidents: Any = None
        self.referrals: Any = None
        self.tasks: Any = None
        self.study_area: Any = None
        self.settings: Any = None
        self.prepared: Any = None
        self.records: dict[str, Any] = {}
        self.messages: list[str] = []
        #: Warnings that most of a file's rows were dropped (:func:`hotspots.io.dropped_share_text`): said at the
        #: load, again at the top of the summary, and kept in parameters.json (``load_warnings``).
        self.load_warnings: list[str] = []


def load_warning(out: Inputs, say: Callable[[str], None], report: Any, kind: str, command: str, paths: Any = (),
                 threshold: int | None = None) -> None:
    """Say (and keep for the summary) :func:`hotspots.io.dropped_share_text` of a file's load report, if any:
    ``command`` and ``paths`` are the `hotspots load` command that shows the rows dropped."""
    from ..io import dropped_share_text

    cmd = " ".join([command, *(shlex.quote(str(p)) for p in paths)])
    if text := dropped_share_text(report, kind=kind, threshold=threshold, check=f"check the file with `{cmd}`"):
        out.load_warnings.append(text)
        say(f"  WARNING: {text}")


def load_inputs(args: argparse.Namespace, say: Callable[[str], None]) -> Inputs:
    """Load (or generate) the inputs named on the command line, printing each load report, then
    prepare them (:func:`hotspots.pipeline.prepare_inputs`: categories, study area, periods)."""
    from ..io import load_any, load_boundary
    from ..io.months import with_kept_months
    from ..pipeline import prepare_inputs

    out = Inputs()
    settings = settings_from_args(args)
    cats = args.category or None
    if args.demo:
        if args.inputs:
            raise ParameterError("give either INPUT files or `--demo`, not both.")
        from ..demo import generate_demo

        data = generate_demo(args.seed)
        out.incidents = data.incidents
        out.records["incidents"] = {
            "generated": f"hotspots.demo.generate_demo(seed={args.seed})",
            "rows": int(len(data.incidents)),
        }
        say(
            f"demo data (seed {args.seed}): {len(data.incidents):,} incidents, {len(data.referrals):,} referrals, "
            f"{len(data.tasks):,} task sites"
        )
        if not args.referrals:
            out.referrals = data.referrals
            out.records["referrals"] = {
                "generated": f"hotspots.demo.generate_demo(seed={args.seed})",
                "rows": int(len(data.referrals)),
            }
        if not args.tasks:
            out.tasks = data.tasks
            out.records["tasks"] = {"generated": f"hotspots.demo.generate_demo(seed={args.seed})", "rows": int(len(data.tasks))}
    else:
        if not args.inputs:
            raise ParameterError("give at least one INPUT file or folder (or `--demo` for the synthetic demo data).")
        # every category is loaded and `prepare_inputs` keeps the chosen ones (as the app does): the
        # months the data do not cover are judged on all of them (hotspots.coverage.category_gaps)
        crs = {"crs": args.crs} if getattr(args, "crs", None) is not None else {}
        if getattr(args, "swap_xy", False):
            crs["swap_xy"] = True
        # the months warning follows `--keep-months` (a kept month is not "left out"; a kept month with no data is said)
        loaded = with_kept_months(load_any([Path(p) for p in args.inputs], kind="incidents", **crs), settings.keep_months)
        say(f"incidents  {loaded.report.summary()}")
        for w in loaded.report.warnings[:5]:
            say(f"  warning: {w}")
        flags = (f" --crs {shlex.quote(str(crs['crs']))}" if "crs" in crs else "") + (" --swap-xy" if crs.get("swap_xy") else "")
        load_warning(out, say, loaded.report, "incidents", f"hotspots load --report{flags}", args.inputs)
        out.incidents = loaded.data
        out.records["incidents"] = loaded
    if args.referrals:
        from ..io import date_order_warning, unrecognised_outcomes_text

        # a PrivacyError's fix names `--drop-identifying` itself (the flag is the alias of `allow_identifying`)
        ref = load_any(Path(args.referrals), kind="referrals", allow_identifying=args.drop_identifying or None)
        # rows read, kept and dropped are counts of people: the summary gives them as published
        # (`hotspots load --kind referrals` shows them exactly, for checking the file)
        say(f"referrals  {ref.report.source}: loaded; rows read, kept and dropped are in the summary, protected as published")
        if caveat := unrecognised_outcomes_text(ref.report, threshold=getattr(args, "threshold", None)):
            say(f"  warning: {caveat}")
        if order := date_order_warning(ref.report):  # no count in it: said here, as it changes every date read
            say(f"  warning: {order}")
        # the same options as this run's load (a file with identifier columns is refused without them)
        drop = "".join(f" --drop-identifying {shlex.quote(str(c))}" for c in args.drop_identifying or [])
        check = f"hotspots load --kind referrals --report{drop} {shlex.quote(str(args.referrals))}"
        if ref.report.warnings:  # they quote exact counts of rows (people): shown by the command for checking the file
            say(f"  {len(ref.report.warnings)} warning(s) about the file's values (e.g. values not recognised, kept as not "
                f"recorded): see `{check}`")
        # most rows dropped: said in coarse bands (people), with the main reasons and the same command to check the file
        load_warning(out, say, ref.report, "referrals", check, threshold=getattr(args, "threshold", None))
        out.referrals = ref.data
        out.records["referrals"] = ref
    if args.tasks:
        tk = load_any(Path(args.tasks), kind="tasks")
        say(f"tasks      {tk.report.summary()}")
        for w in tk.report.warnings[:5]:  # sites are places, not people: e.g. a kind kept as written
            say(f"  warning: {w}")
        load_warning(out, say, tk.report, "tasks", "hotspots load --kind tasks --report", [args.tasks])
        out.tasks = tk.data
        out.records["tasks"] = tk
    area_arg = args.study_area
    boundary: Any = None
    if area_arg in ("default", "none"):
        boundary = area_arg
    elif area_arg is not None:
        boundary = load_boundary(Path(area_arg))
        say(f"study area {Path(area_arg).name}: {len(boundary)} polygon feature(s)")
    prepared = prepare_inputs(
        out.incidents,
        settings=settings,
        boundary=boundary,
        keep_holes=bool(args.keep_holes),
        categories=cats,
        referrals=out.referrals,
        tasks=out.tasks,
        force=getattr(args, "force", None),
        report=getattr(out.records.get("incidents"), "report", None),
    )
    for note in prepared.notes:
        out.messages.append(note)
        say(note)
    out.prepared = prepared
    out.settings = prepared.settings
    out.incidents = out.all_incidents = prepared.incidents
    out.study_area = prepared.study_area
    if prepared.study_area is not None or prepared.area.source != "none":
        record = dict(prepared.area.record)
        if area_arg not in (None, "default", "none"):
            record["files"] = [Path(area_arg).name]
        out.records["study_area"] = record
    return out


def run_analysis(args: argparse.Namespace, inputs: Inputs, progress: Callable[[str, float], None]) -> Any:
    """Run :func:`hotspots.analyse` on the prepared inputs; library warnings become notes in the
    summary, not tracebacks."""
    import warnings

    from ..pipeline import analyse

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyse(
            inputs.incidents,
            settings=inputs.settings if inputs.settings is not None else settings_from_args(args),
            study_area=inputs.study_area,
            referrals=inputs.referrals,
            tasks=inputs.tasks,
            progress=progress,
        )
    own = set(getattr(result, "notes", ()) or ())  # a warning the analysis also kept as a note is shown once, as the note
    for w in caught:
        msg = f"warning: {w.message}"
        if msg not in inputs.messages and str(w.message) not in own:
            inputs.messages.append(msg)
    return result


# =============================================================================== summary
def pct_of(v: Any) -> str:
    """A displayed percentage with its sign: ``78%``, ``>99%``; markers (``c``, ``x``) as they are;
    ``"–"`` where there is none (no referral with a task site, say)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    text = str(v)
    return f"{text}%" if text[:1] in "<>" or text.replace(".", "", 1).isdigit() else text


def count_text(v: Any) -> str:
    """A displayed count with thousands separators: ``2,185``; markers (``<5``, ``c``, ``x``) as they are."""
    text = str(v)
    return f"{int(float(text)):,}" if text.replace(".", "", 1).isdigit() and float(text).is_integer() else text


def trend_word(pattern: Any) -> str:
    """A hotspot area's emerging pattern for the summary's column: ``"persistent"``, ``"no pattern"``
    (csv/hotspot_areas.csv's "no pattern detected", shorter), ``"–"`` when there is none."""
    text = str(pattern)
    if text in ("", "nan", "None"):
        return "–"
    return "no pattern" if text == "no pattern detected" else text.removesuffix(" spot").removesuffix(" hot")


def summary_lines(analysis: Any, inputs: Inputs | None = None, *, top: int = 5) -> list[str]:
    """The end-of-run summary (suppressed person-level figures only)."""
    from ..export._common import area_summary, column_periods, period_range_text, period_text
    from ..summaries import headline, per_day_note

    an = analysis
    g = an.grid
    lines = ["", "Summary"]
    if mismatch := getattr(getattr(an, "linkage", None), "mismatch", None):  # files of different forces: said first
        lines.append(f"  WARNING: {mismatch}")
    lines += [f"  WARNING: {w}" for w in (inputs.load_warnings if inputs is not None else ())]  # most of a file dropped
    months = period_text(an.incidents) or "no dates"  # no `month` or `occurred` column: not "432 ()"
    outside = an.incidents_outside()  # a boundary can leave most of the force's incidents out: not "analysed"
    more = f"; {outside:,} more outside the study area (in no cell, not analysed)" if outside else ""
    # the app's "Incidents analysed" card: the same library figure (summaries.headline)
    lines.append(f"  incidents analysed: {headline(an).incidents:,} ({months}){more}")
    shape = f"{g.n_rows:,} rows x {g.n_cols:,} columns"  # "178 x 124 cells" left the reader to guess which is which
    lines.append(f"  grid: {shape} of {g.cell_size:,g} m cells ({g.n_cells:,} in the study area)")
    lines.append(f"  method: {an.caption()}")
    # "hotspot areas: 0" reads as "none exist" when the chosen test cannot reach the areas' confidence:
    # the library's note (gistar.unreached_note) is said beside the count instead of among the notes
    from ..gistar import unreached_note

    need = float(an.areas.params.get("min_confidence", 0.95))
    why = unreached_note(an.gi, need) if an.areas.n_areas == 0 else None
    shown = [n for n in dict.fromkeys(list(inputs.messages if inputs else []) + list(an.notes)) if n != why]  # each once
    if shown:
        lines.append("  automatic choices and notes:")
        lines += [f"    - {n}" for n in shown]
    lines.append(f"  hotspot areas: {an.areas.n_areas} ({an.areas.how})")
    if why:
        lines.append(f"    none can be found at {need:.0%} confidence: {why}")
    if an.clusters is not None:
        lines.append(f"  point clusters ({an.settings.cluster_method}): {an.clusters.n_clusters:,}")
    summ = area_summary(an)
    if len(summ):
        has_change = "change_pct" in summ.columns
        has_ref = "referrals" in summ.columns
        has_ring = "ring_change_pct" in summ.columns  # the ring of cells around the area (displacement)
        has_trend = "emerging" in summ.columns  # the pattern most of its cells share over the months
        head = f"    {'#':>3}  {'place':<32} {'incidents':>10}"
        head += f"  {'change':>9}" if has_change else ""
        head += f"  {'ring':>9}" if has_ring else ""
        head += f"  {'over the months':<16}" if has_trend else ""
        head += f"  {'referrals':>9}" if has_ref else ""
        lines.append(f"  top {min(top, len(summ))} hotspot areas:")
        lines.append(head)
        for _, r in summ.head(top).iterrows():
            row = f"    {int(r['area_id']):>3}  {shorten(r['place'], 32):<32} {int(r['incidents']):>10,}"
            if has_change:
                row += f"  {change_text(r['change_pct'], r['change_class']):>9}"
            if has_ring:
                row += f"  {change_text(r['ring_change_pct'], r['ring_change_class']):>9}"
            if has_trend:
                row += f"  {trend_word(r['emerging']):<16}"
            if has_ref:
                row += f"  {str(r['referrals']):>9}"
            lines.append(row)
        if has_change:  # the counts and the change can come from different months (`--period`)
            cp = column_periods(an)
            lines.append(f"    incidents: {cp['incidents']}; change: {cp['change_pct']}")
        shown = summ.head(top)[[c for c in ("change_note", "ring_change_note") if c in summ.columns]]
        if legend := blank_percent_legend(shown.to_numpy()):  # what a "–" in the change columns means (one rule)
            lines.append(f"    {legend}")
    if an.change_cells is not None and an.areas.n_areas == 0:
        ch = an.change_cells  # the periods with their months left out and why, if any
        lines.append(
            f"  change {ch.period_text('before')} -> {ch.period_text('after')}: no hotspot areas at these settings, "
            "so no change per area, pooled change or displacement (each cell's change is in the change_cells layer)"
        )
    if an.change_areas is not None:
        n = len(an.change_areas.table)
        lines.append(
            f"  change {an.change_areas.period_text('before')} -> {an.change_areas.period_text('after')}: "
            f"{n} hotspot area{'s' * (n != 1)}: "
            f"{an.change_areas.counts_text()}; "
            f"{per_day_note(an.change_areas.exposure_before_days, an.change_areas.exposure_after_days)}"
        )
        mde = an.change_areas.detectable_falls_text()
        if mde:
            lines.append(f"    {mde}")
    if an.change_summary is not None:
        lines.append(f"  pooled change {period_range_text(an.before)} -> {period_range_text(an.after)}:")
        lines += [f"    {line}" for line in an.change_summary.lines()]
        lines += [f"    {x}" for x in (an.change_summary.totals_text(), an.change_summary.detectable_falls_line()) if x]
        lines.append(f"    {an.change_summary.dispersion_line()}")
        # loud: a compared period under 3 months, or the season not separated, qualifies every change above
        lines += [f"    WARNING: {caveat}" for caveat in an.change_summary.caveats()]
        # what qualifies those verdicts (seasonality, where tau2 came from, how hotspots were chosen)
        lines += [f"    - {note}" for note in an.change_summary.other_notes()]
    moved = getattr(an, "displacement", None)
    if moved is not None:
        lines.append(f"  displacement {period_range_text(an.before)} -> {period_range_text(an.after)}: {moved.describe()}")
        lines += [f"    {line}" for line in moved.lines()]
    elif an.change_cells is None:
        # no periods (e.g. a single month of data), else the change's own reason (e.g. no shared calendar month)
        why = change_missing_reason(an.notes)
        lines.append(
            f"  change: not computed; {why}" if why and why.startswith(PERIODS_NOT_CHOSEN) else
            f"  change: not computed: {why}" if why else
            f"  change {period_range_text(an.before)} -> {period_range_text(an.after)}: not computed (see the notes above)"
        )
    trends = getattr(an, "emerging", None)
    if trends is not None:
        from ..emerging_summary import describe_emerging

        lines.append(f"  emerging hot spots, {describe_emerging(trends)}")
    from ..publication import scheme_publication

    pub = scheme_publication(an)
    if pub is not None:
        row = pub.kpis["all"].iloc[-1]

        def pct(col: str) -> str:
            return pct_of(row.get(col))

        lines.append(f"  people: {pub.statement}")
        lines += [f"    - {n}" for n in pub.notes]
        loaded = (inputs.records.get("referrals") if inputs is not None else None)
        if getattr(loaded, "report", None) is not None:
            lines.append(f"  referral file: {pub.load_report_text(loaded.report)}")
        lines.append(
            f"  scheme KPIs: referrals {count_text(row.get('referrals'))}; "
            f"completed (of concluded referrals) {pct('completed_pct')}; "
            f"not re-offended {pct('not_reoffended_pct')}; victims satisfied {pct('victim_satisfied_pct')}; "
            f"contacted within 48 h {pct('contacted_48h_pct')}; "
            f"contacted and booked within 48 h {pct('contacted_booked_48h_pct')}; "
            f"first-time entrants {pct('first_time_entrant_pct')}"
        )
        from ..io import unrecognised_outcomes_text

        if caveat := unrecognised_outcomes_text(getattr(loaded, "report", None), threshold=pub.threshold):
            lines.append(f"    - completion rate: {caveat}")
        sd = pub.referrals_summary.set_index("where") if pub.referrals_summary is not None else None
        if sd is not None and "in hotspots" in sd.index:
            lines.append(
                f"  referrals from hotspot areas: {count_text(sd.loc['in hotspots', 'referrals'])} of "
                f"{count_text(sd.loc['All', 'referrals'])}; "
                f"reparation local ({an.linkage.params.get('local_rule', '')}): {pct_of(sd.loc['All', 'local_pct'])}"
            )
        checks = list(getattr(an.linkage, "notes", ()) or ()) + list(pub.data_notes)
        if checks:
            # exact counts, for the analyst at the console; parameters.json has them protected (results.scheme_checks)
            lines.append("  scheme data checks (exact counts: for the analyst, not for publication):")
            lines += [f"    - {n}" for n in dict.fromkeys(checks)]
    return lines


# =============================================================================== command
def _images(
    analysis: Any, out: Path, args: argparse.Namespace, inputs: Inputs, progress: Callable[[str, float], None]
) -> list[Any]:
    from ..export import briefing_before_after, briefing_map
    from ..export.briefing import BRIEFING_MAPS

    layers = ["density", "gistar"] + (["scheme"] if analysis.linkage is not None else [])
    layers += ["before-after"] if analysis.change_cells is not None else []
    jobs = [(layer, BRIEFING_MAPS[layer]) for layer in layers]
    fmts = ["png"] + (["pdf"] if args.pdf else [])
    made = []
    total = len(jobs) * len(fmts)
    k = 0
    for layer, stem in jobs:
        for fmt in fmts:
            progress(f"briefing map: {stem}.{fmt}", k / total)
            path = out / "maps" / f"{stem}.{fmt}"
            common = dict(dpi=args.dpi, basemap=args.basemap)
            if layer == "before-after":
                img = briefing_before_after(analysis, path, incidents=inputs.all_incidents, **common)
            else:
                img = briefing_map(analysis, path, layer=layer, snap_m=args.snap, **common)
            made.append(img)
            k += 1
    return made


def check_arguments(args: argparse.Namespace) -> tuple[Any, tuple[str, ...]]:
    """Every argument of ``hotspots analyse``, checked before anything is loaded: ``(results folder, formats)``."""
    from ..export.briefing import check_dpi, check_image_options
    from ..export.gis import FORMATS, check_snap_m
    from ..results_folder import results_folder

    with validation.collect() as problems:
        check_input_arguments(args, problems)
        check_analysis_arguments(args, problems)
        folder = problems.check(results_folder, args.out, command="analyse")  # refuses now; changes nothing yet
        out = None if folder is None else folder.path
        formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
        if not formats or any(f not in FORMATS for f in formats):
            problems.add(f"`--formats` must be a comma-separated list of {', '.join(FORMATS)}; got {args.formats!r}.")
        snap = problems.check(validation.parse_number, args.snap, "snap")
        args.snap = problems.check(check_snap_m, snap) if snap is not None else None
        dpi = problems.check(validation.parse_number, args.dpi, "dpi")
        dpi = None if dpi is None else problems.check(check_dpi, dpi)  # with --no-images or a refused --out too
        if dpi is not None and out is not None and not args.no_images:
            # The largest image written (before/after, 13.33 x 7.5 in) sets the pixel limit.
            problems.check(check_image_options, out / "maps" / "briefing_before_after.png", dpi, (40 / 3, 7.5))
        args.dpi = dpi
        check_basemap(args, problems)
    return folder, formats


def run(args: argparse.Namespace) -> int:
    from ..export import export_gis

    t0 = time.perf_counter()
    quiet = args.quiet
    say = (lambda s: None) if quiet else (lambda s: print(s, flush=True))
    folder, formats = check_arguments(args)
    out = folder.path
    settings_from_args(args)  # the periods must not overlap
    inputs = load_inputs(args, say)
    bar = ProgressBar(enabled=not quiet)
    analysis = run_analysis(args, inputs, scaled(bar, 0.0, 0.7))
    bar("writing GIS files and tables", 0.7)
    folder.begin()  # clears the files an earlier run listed in parameters.json
    manifest = export_gis(
        analysis,
        out,
        formats=formats,
        threshold=args.threshold,
        snap_m=args.snap,
        drop_empty=args.drop_empty,
        inputs=inputs.records,
        timestamp=not args.no_timestamp,
        extra=command_record(args, "analyse") | ({"preparation": inputs.prepared.record()} if inputs.prepared else {})
        | ({"load_warnings": list(inputs.load_warnings)} if inputs.load_warnings else {}),
    )
    images = [] if args.no_images else _images(analysis, out, args, inputs, scaled(bar, 0.75, 1.0))
    folder.finish()  # lists every file written in parameters.json
    bar("done", 1.0)
    bar.done()
    replaced = folder.replaced_note()  # an earlier run's files deleted: said, never silent
    if quiet:
        print(f"hotspots analyse: wrote {len(manifest.files) + len(images)} files to {out}")
        for w in inputs.load_warnings:  # most of a file dropped: said even when quiet
            print(f"  WARNING: {w}", file=sys.stderr)
        if replaced:
            print(f"  {replaced}")
        return 0
    for line in summary_lines(analysis, inputs):
        print(line)
    print(f"  outputs in {out}:")
    if manifest.gpkg is not None:
        layers = ", ".join(f"{k} {v:,}" for k, v in manifest.layers.items())
        tables = manifest.parameters.get("gpkg_tables") or {}
        more = f"; table{'s' if len(tables) > 1 else ''} {', '.join(tables)}" if tables else ""
        size = file_size(manifest.gpkg.stat().st_size)
        print(f"    {manifest.gpkg.name}  ({len(manifest.layers)} layers: {layers}{more}; {size})")
    n_geo = sum(1 for k in manifest.files if k.startswith("geojson:"))
    if n_geo:
        print(f"    geojson/  ({n_geo} files, WGS84)")
    if manifest.tables:
        print(f"    csv/  ({len(manifest.tables)} tables: {', '.join(manifest.tables)})")
    for rec in (manifest.parameters.get("rasters") or {}).values():
        print(f"    {rec['file']}  ({rec['units']}, {rec['cell_m']:g} m cells; Cloud-Optimised GeoTIFF)")
    print("    parameters.json  (settings, automatic values, inputs, version)")
    for img in images:
        print(
            f"    {img.path.relative_to(out)}  ({img.size_text()}, "
            f"{file_size(img.path.stat().st_size)}; basemap {img.basemap})"
        )
    if replaced:
        print(f"  {replaced}")
    print(f"  time: {time.perf_counter() - t0:.1f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "analyse",
        run,
        help="run the whole analysis and write GIS files, tables and briefing maps",
        aliases={"out_dir": "--out", "snap_m": "--snap", "categories": "--category", "allow_identifying": "--drop-identifying"},
        description=(
            "Load incident files (and optionally referrals, task sites, a study area), run the hotspot analysis "
            "(grid, kernel density, Gi*, hotspot areas, clusters, before/after change, scheme linkage and KPIs) and "
            "write a results folder: hotspots.gpkg, geojson/, csv/, parameters.json and maps/*.png."
        ),
    )
    add_analysis_arguments(p)
    g = p.add_argument_group("output")
    g.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="results folder: new (its parent must exist), empty, or written by an earlier analyse run "
        "(its files are replaced, and the run says so); other folders are refused",
    )
    g.add_argument(
        "--formats", default="gpkg,geojson,csv,tif",
        help="comma-separated: gpkg, geojson, csv, tif (density.tif and counts.tif, Cloud-Optimised GeoTIFFs) (default all)",
    )
    g.add_argument("--snap", default=250.0, metavar="M", help="square size for exported referral origins, metres (default 250)")
    g.add_argument("--drop-empty", action="store_true", help="leave empty, non-significant cells out of the cell layers")
    g.add_argument("--no-timestamp", action="store_true", help="no creation time in parameters.json (byte-reproducible sidecar)")
    g.add_argument("--no-images", action="store_true", help="skip the briefing map images")
    g.add_argument("--pdf", action="store_true", help="also write PDF versions of the briefing maps")
    g.add_argument("--dpi", default=300, help="image resolution, dots per inch, 20 to 1200 (default 300)")
    g.add_argument(
        "--basemap",
        default="none",
        help="'none' (default: nothing is fetched), 'auto' (tiles when reachable: asks a public tile server "
        "for the area), 'osm' or a tile URL template",
    )
    g.add_argument("--quiet", action="store_true", help="no load reports, progress or summary; one line at the end")
