"""Input preparation: every choice about the inputs, the same for the CLI and the app.

:func:`prepare_inputs` makes each choice by one small function that returns the choice and a
sentence announcing it:

* :func:`choose_category` — which incident categories are analysed (anti-social behaviour when
  the data mix it with other categories);
* :func:`~hotspots.study_area.choose_study_area` — the study area: a boundary the user gives
  always wins (its holes filled when the data cover them, announcing how many incidents that
  brings in; ``keep_holes=True`` keeps them); without one,
  :func:`~hotspots.study_area.automatic_study_area`;
* :func:`choose_scheme_start` — the scheme start: given, the demo's own, or the first referral's
  day; never another force's date;
* :func:`check_given_periods` — given before/after periods must hold some of the data's months
  (else an argument error, before any analysis);
* :func:`choose_periods` — the before/after periods (:func:`hotspots.periods.default_periods`);
* :func:`choose_missing_months` — the months the data do not cover (:mod:`hotspots.coverage`).

The cell size is chosen when the grid is built (it depends on the analysis period's incidents):
:func:`choose_cell_size`. Re-exported by :mod:`hotspots.pipeline`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import HotspotsError, ParameterError
from .coverage import (
    MIN_CATEGORIES_UNRELIABLE,
    ForceMonths,
    category_gaps,
    files_not_kept,
    force_months,
    month_coverage,
    month_label,
    month_number,
    month_spans,
    months_between,
    unreliable_months_note,
)
from .grid import BNG, auto_cell_size, incident_extent
from .incident_time import incident_dates, incident_months, month_numbers
from .periods import PeriodChoice, default_periods, month_range
from .schema import ASB_CATEGORY, SCHEME_START
from .settings import Settings
from .study_area import (
    StudyAreaChoice,
    choose_study_area,
)
from .validation import shown

__all__ = [
    "check_several_places",
    "PERIODS_NOT_CHOSEN",
    "CategoryChoice",
    "CellSizeChoice",
    "PreparedInputs",
    "category_matches",
    "choose_category",
    "choose_scheme_start",
    "choose_periods",
    "check_given_periods",
    "choose_missing_months",
    "choose_cell_size",
    "prepare_inputs",
]


@dataclass(frozen=True, eq=False)
class CategoryChoice:
    """The incidents kept for analysis by category, and the announcement.

    Attributes
    ----------
    incidents : GeoDataFrame
    categories : tuple of str or None
        The categories kept; None = all.
    note : str
        Empty when nothing was chosen on the user's behalf.
    """

    incidents: gpd.GeoDataFrame
    categories: tuple[str, ...] | None
    note: str = ""


def category_matches(category: pd.Series, wanted: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Which rows hold one of the ``wanted`` categories: the one matching rule of the default
    category and of the ``categories`` option.

    Names match as the loaders match them (:func:`hotspots.io._pipeline.category_key`): case,
    spaces and punctuation ignored, ``"ASB"`` for ``"Anti-social behaviour"``; so ``"ASB"``,
    ``"Anti-Social Behaviour "`` and ``"Anti-social behaviour"`` are one category.

    Parameters
    ----------
    category : Series
        The incidents' category names (missing values match nothing).
    wanted : list of str
        The categories asked for.

    Returns
    -------
    keep : ndarray of bool
        One per row of ``category``.
    matched : tuple of str
        The data's own spellings of the rows kept, sorted.
    """
    from .io._pipeline import category_key  # the loaders' matching: case and punctuation ignored, "asb"

    names = pd.Series(category).astype("string").fillna("")
    keys = {u: category_key(u) for u in names.unique() if u}
    wanted_keys = {category_key(c) for c in wanted}
    keep = names.map(lambda u: keys.get(u) in wanted_keys).to_numpy(dtype=bool)
    return keep, tuple(sorted(names[keep].unique()))


def category_drops_text(report: Any, matched: Sequence[str], kept: int) -> str:
    """How the rows read of the categories analysed add up: kept, and dropped by the loader for each
    reason (no location, outside the UK, duplicate id, a copy of a month, ...), from ``report``
    (:attr:`hotspots.report.LoadReport.dropped_by_category`); "" when none were dropped (or the
    report does not say). The one text of the category line, for the command line and the app.

    Parameters
    ----------
    report : LoadReport or None
        The incidents' load report.
    matched : sequence of str
        The categories analysed, as :func:`category_matches` matches them.
    kept : int
        Incidents of those categories loaded (rows kept).

    Returns
    -------
    str
        e.g. ``"of the 1,368 'Anti-social behaviour' rows read, 1,340 were kept and 28 (2.0 %) dropped (outside
        the UK: 23; no location: 5)"``: read = kept + each reason's count.
    """
    by_cat = getattr(report, "dropped_by_category", None) or {}
    if not by_cat or not matched:
        return ""
    names = pd.Series(list(by_cat))
    hit, _ = category_matches(names, list(matched))
    reasons: dict[str, int] = {}
    for c in names[hit]:
        for reason, n in by_cat[c].items():
            reasons[reason] = reasons.get(reason, 0) + int(n)
    gone = sum(reasons.values())
    if not gone:
        return ""
    read = int(kept) + gone
    each = "; ".join(f"{k}: {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]) if v)
    return (f"of the {read:,} {', '.join(map(repr, matched))} rows read, {int(kept):,} were kept and {gone:,} "
            f"({100.0 * gone / read:.1f} %) dropped ({each})")


def choose_category(
    incidents: gpd.GeoDataFrame, categories: str | Sequence[str] | None = None, *, report: Any = None
) -> CategoryChoice:
    """Which incident categories to analyse.

    Parameters
    ----------
    incidents : GeoDataFrame
        Loaded incidents (a ``category`` column is optional).
    categories : None, "all", or list of str
        None (automatic): anti-social behaviour only when the data hold it among other
        categories, else everything; matched by the same rule as a list (:func:`category_matches`:
        ``"ASB"`` and ``"Anti-Social Behaviour "`` rows are kept too, their spellings announced).
        ``"all"`` (or ``["all"]``): every category. A list: those categories, matched as the
        loaders match them (:func:`category_matches`).

    report : LoadReport, optional
        The incidents' load report: the note then says how the rows read of the categories kept add
        up, kept and dropped for each reason (:func:`category_drops_text`; the load line counts them
        over every category).

    Returns
    -------
    CategoryChoice
    """
    choice = _choose_category(incidents, categories)
    if choice.categories is None or report is None:
        return choice
    kept = len(choice.incidents)
    gone = category_drops_text(report, choice.categories, kept)
    if not gone:
        return choice
    note = f"{choice.note}; {gone}" if choice.note else gone
    return dataclasses.replace(choice, note=note)


def _choose_category(incidents: gpd.GeoDataFrame, categories: str | Sequence[str] | None) -> CategoryChoice:
    if isinstance(categories, str):
        categories = [categories]
    if categories is not None:
        wanted = [str(c).strip() for c in categories if str(c).strip()]
        if not wanted or [c.lower() for c in wanted] == ["all"]:
            return CategoryChoice(incidents, None)
        if "category" not in incidents.columns:
            raise ParameterError(f"the incidents have no `category` column to choose {wanted!r} from.")
        keep, matched = category_matches(incidents["category"], wanted)
        if not keep.any():
            from .io._pipeline import category_key
            from .validation import closest_name, names_text

            found = sorted(incidents["category"].dropna().astype(str).unique())
            guesses = [g for g in (closest_name(w, found, key=category_key) for w in wanted) if g is not None]
            hint = f" Did you mean {' or '.join(repr(g) for g in dict.fromkeys(guesses))}?" if guesses else ""
            raise ParameterError(
                f"no incidents have the category {', '.join(map(repr, wanted))} ({shown('categories')}); "
                f"the data hold {names_text(found)}.{hint}"
            )
        note = (
            ""
            if keep.all()
            else f"kept the {int(keep.sum()):,} incidents of {len(incidents):,} in {', '.join(map(repr, matched))}"
        )
        return CategoryChoice(incidents.loc[keep] if not keep.all() else incidents, matched, note)
    if "category" not in incidents.columns or len(incidents) == 0:
        return CategoryChoice(incidents, None)
    present = incidents["category"].astype(str)
    # the default matches as the explicit option does: 'ASB', 'Anti-Social Behaviour ' are anti-social behaviour
    asb, spellings = category_matches(incidents["category"], [ASB_CATEGORY])
    if asb.any() and not asb.all():
        spelled = (
            f"; spelled {', '.join(map(repr, spellings))} in the data (categories match ignoring case, spaces and "
            "punctuation, and 'ASB' is anti-social behaviour)" if spellings != (ASB_CATEGORY,) else ""
        )
        note = (
            f"kept the {int(asb.sum()):,} '{ASB_CATEGORY}' incidents of {len(incidents):,} loaded{spelled} "
            "(choose the categories to analyse others, or 'all' to keep every category)"
        )
        return CategoryChoice(incidents.loc[asb], spellings, note)
    counts = present.value_counts()
    if not asb.any() and len(counts) > 1:
        # police.uk files without ASB (British Transport Police's): say that every crime is analysed
        top = ", ".join(f"{name} {n:,}" for name, n in counts.head(3).items())
        return CategoryChoice(incidents, None, (
            f"the data hold no '{ASB_CATEGORY}' incidents: all {len(incidents):,} incidents of their {len(counts)} categories "
            f"are analysed together (most: {top}); choose the categories to analyse fewer"
        ))
    return CategoryChoice(incidents, None)


#: How :func:`choose_periods`' note begins when the data cannot give before/after periods.
PERIODS_NOT_CHOSEN = "before/after periods: not chosen from the data"


def choose_scheme_start(
    incidents: gpd.GeoDataFrame, settings: Settings, referrals: gpd.GeoDataFrame | None = None
) -> tuple[Settings, str]:
    """``settings`` with the scheme start filled in when the data show it.

    A given ``scheme_start`` is kept (no note). Otherwise, announced as inferred: with
    ``referrals``, the first day of the month of the first referral (a scheme's referrals begin
    when it does; an extract that starts later would move it). Month precision: the exact day
    would be one person's referral date, published in the console, ``parameters.json`` and the
    app; the before/after periods are whole calendar months anyway, so they do not change; the synthetic demo data's own
    (:data:`hotspots.schema.SCHEME_START`); else None, and no force's date is assumed
    (:func:`choose_periods` then compares the data's own halves or latest two years).

    Returns
    -------
    settings : Settings
    note : str
        How the scheme start was inferred; empty when it was given or none was.
    """
    from .places import is_demo_data

    if settings.scheme_start is not None:
        return settings, ""
    when = pd.to_datetime(referrals["referred_at"], errors="coerce") if (
        referrals is not None and "referred_at" in referrals.columns) else pd.Series([], dtype="datetime64[ns]")
    if when.notna().any():  # no count of referrals in the note: it reaches every output, unprotected
        day = when.min()
        first = day.replace(day=1).date().isoformat()
        return settings.replace(scheme_start=first), (
            f"scheme start: {first}, inferred from the earliest referral's date, to the month ({day:%b %Y}; its first "
            "day stands for the month: the exact day is one person's referral date and is not published; a "
            "scheme's referrals begin when it does; give `--scheme-start` if these referrals are a later extract)"
            # the app drops the last clause
        )
    if is_demo_data(incidents):
        return settings.replace(scheme_start=SCHEME_START), (
            f"scheme start: {SCHEME_START}, the demo data's own (the day its synthetic scheme begins)"
        )
    return settings, ""


def choose_periods(incidents: gpd.GeoDataFrame, settings: Settings, *, without: Sequence[str] = ()) -> tuple[Settings, str]:
    """``settings`` with the default before/after periods filled in from the data's months.

    Given periods are kept as they are (no note). Without both, :func:`hotspots.periods.default_periods`
    chooses them from the data's months and ``settings.scheme_start`` (:func:`choose_scheme_start`
    without referrals: the demo data's own when none is given and the data are the demo's; no
    other data assume a date). When the data cannot give periods (no dates, a single month) the
    settings come back unchanged with the reason.

    Returns
    -------
    settings : Settings
    note : str
        Empty when nothing was chosen.
    """
    settings, _ = choose_scheme_start(incidents, settings)
    if settings.before is not None and settings.after is not None:
        return settings, ""
    try:
        first, last = month_range(incidents)
        choice: PeriodChoice = default_periods(first, last, settings.scheme_start, without=without)
    except (ParameterError, KeyError) as exc:
        # "(the data cover a single month (2025-01); two periods cannot be compared.)" (British Transport Police): the
        # error's own full stop is not carried inside the brackets
        return settings, f"{PERIODS_NOT_CHOSEN} ({str(exc).rstrip('.')})"
    return settings.replace(before=choice.before, after=choice.after), choice.note


def check_given_periods(incidents: gpd.GeoDataFrame, settings: Settings) -> None:
    """Refuse given before/after periods that hold no month of the data at all.

    A ``before`` or ``after`` period none of whose months holds an incident of ``incidents``
    (every category loaded) has nothing to compare: the change would not be computed, and the
    run would go on as if the periods had been asked for. This raises instead, before any
    analysis, naming the period (``--before``/``--after`` on the command line), the months the
    data hold and the fix. A period that holds some of the data's months is kept: the change
    leaves its months without data out and says so (:func:`choose_missing_months`). Periods not
    given (chosen from the data by :func:`choose_periods`) and data without dates are not checked.

    Raises
    ------
    ParameterError
        When a given period holds no month of the data.
    """
    if settings.before is None or settings.after is None:
        return
    m = incident_months(incidents)
    if m is None:
        return
    held = set(np.unique(m[m >= 0]).tolist())
    if not held:
        return
    part = set(month_coverage(m).incomplete)  # published in part: left out of the change like a missing month
    full = held - part
    before, after = settings.change_periods()
    empty = [
        (name, p) for name, p in (("before", before), ("after", after)) if not full.intersection(months_between(p.start, p.end))
    ]
    if not empty:
        return
    which = " and ".join(f"{shown(name)} ({p.describe(label=False)})" for name, p in empty)
    asked = " and ".join(p.describe(label=False) for _, p in empty)
    partial = sorted(part.intersection(months_between(empty[0][1].start, empty[0][1].end))) if len(empty) == 1 else []
    if partial:
        raise ParameterError(
            f"{which} holds only {month_spans(partial)}, published in part (left out of the change as a missing month "
            f"is); give {shown('before')} and {shown('after')} within the data's other months ({month_spans(full)})."
        )
    raise ParameterError(
        f"{which} {'holds' if len(empty) == 1 else 'hold'} no month of the data, which hold {month_spans(held)}; "
        f"give {shown('before')} and {shown('after')} within the data's months, or load the monthly files of {asked}."
    )


def choose_missing_months(
    incidents: gpd.GeoDataFrame, settings: Settings, analysed: gpd.GeoDataFrame | None = None, *, report: Any = None
) -> tuple[Settings, str]:
    """``settings`` with ``missing_months`` filled in: the months the loaded data do not cover.

    Found by :func:`hotspots.coverage.month_coverage` in ``incidents`` as loaded (every category:
    thousands a month, so an empty month is a missing file, not a quiet month) and in the
    ``analysed`` category's own (a month a force published other crimes but none of it, or only part
    of it, as Hampshire's August 2025 ASB), over the data's months and the change periods'; and a
    month that :data:`~hotspots.coverage.MIN_CATEGORIES_UNRELIABLE` or more of the loaded categories
    lack or hold in part (:func:`hotspots.coverage.category_gaps`), whichever category is analysed:
    that month's file is not to be trusted (Hampshire's August 2025 holds ten categories at a
    fraction of their typical month while its violence doubled). Months are also judged force by force
    on every row loaded (:func:`hotspots.coverage.force_months`): a month in which a force present in
    other months has no rows (another force's stray monthly file) is incomplete for the study area, and
    so is a month holding far fewer rows than its force's typical month (a truncated or part-published
    file; ``settings.keep_months`` keeps such months). Given ``missing_months`` are kept; without dates
    the settings come back unchanged.

    ``report``: the incidents' load report (:class:`hotspots.report.LoadReport`); a month with no data
    whose monthly file was read but lost (all rows dropped, or skipped as unreadable) is said to be so,
    naming the file and why (:func:`hotspots.coverage.files_not_kept`).

    Returns
    -------
    settings : Settings
    note : str
        Empty when no month is missing.
    """
    if settings.missing_months is not None:
        return settings, ""
    try:
        before, after = settings.change_periods()
        months_of = [month_numbers(incident_dates(x)[0]) for x in (incidents, analysed) if x is not None]
    except (HotspotsError, KeyError):
        return settings, ""
    # the periods' months too when they were given or chosen from the data (not the fallback
    # around the scheme start, which may lie years away from data that cannot give periods)
    given = settings.before and settings.after
    span = months_between(min(before.start, after.start), max(before.end, after.end)) if given else ()
    keep = {month_number(k) for k in settings.keep_months}  # months the user says are complete (never left out)
    # a month a force lacks while others cover it is said so, not "published in part" (coverage.month_coverage)
    force_of = [x["force"].to_numpy() if "force" in x.columns else None for x in (incidents, analysed) if x is not None]
    found = [month_coverage(m, span, force=f).kept(keep) for m, f in zip(months_of, force_of)]
    every = set(found[0].gone)
    own = sorted(set(found[-1].gone) - every) if len(found) > 1 else []
    # a month several categories lack or hold in part: its file's categories are not to be trusted,
    # whichever is analysed (Hampshire's August 2025: ASB at a quarter, violence doubled)
    has_category = "category" in incidents.columns
    gaps = category_gaps(months_of[0], incidents["category"].to_numpy(), found[0]) if has_category else {}
    scrambled = [m for m, c in gaps.items() if len(c) >= MIN_CATEGORIES_UNRELIABLE and m not in every | keep]
    # the whole data's typical month counts every category loaded: say so when that is not the analysed one
    several = analysed is not None and has_category and incidents["category"].nunique() > 1
    # month by month per force, on every row loaded: a force absent from a month others cover, a month far short
    forces = incidents["force"].to_numpy() if "force" in incidents.columns else None
    day_dated = "occurred" in incidents.columns and bool(incidents["occurred"].notna().any())
    per_force = force_months(
        months_of[0], forces, keep=keep, edges=not day_dated, category=incidents["category"].to_numpy() if has_category else None
    )
    extra = sorted(set(per_force.gone) - every - set(own) - set(scrambled))
    files = files_not_kept(report)
    notes = [
        found[0].note(" across the categories loaded" if several else "", files=files),
        found[-1].note(" in the analysed category", only=own, files=files) if own else "",
        unreliable_months_note(gaps, [m for m in scrambled if m not in own]),
        # the months a force lacks are said by found[0]'s note; here the months far short
        ForceMonths(per_force.covers, {}, per_force.short, per_force.kept).note() if extra else "",
        kept_months_note(keep, months_of[0]),
    ]
    gone = sorted(every | set(own) | set(scrambled) | set(extra))
    return settings.replace(missing_months=tuple(month_label(m) for m in gone)), "; ".join(n for n in notes if n)


def kept_months_note(keep: Iterable[int], month: np.ndarray) -> str:
    """What ``Settings.keep_months`` did: the kept months that hold data are counted in full; a kept month
    with no row in ``month`` (each loaded row's ``year * 12 + month - 1``) has no data to keep, and is said so.

    Examples
    --------
    >>> m = np.repeat(2025 * 12 + np.array([0, 1, 3]), 10)
    >>> print(kept_months_note([2025 * 12 + 1, 2025 * 12 + 2], m)[:91])
    `keep_months`: Feb 2025 kept and counted in full as asked; Mar 2025 has no data to keep (no
    """
    held = set(np.unique(np.asarray(month, dtype=np.int64)).tolist())
    has = sorted(m for m in keep if m in held)
    empty = sorted(m for m in keep if m not in held)
    parts = []
    if has:
        parts.append(f"{month_spans(has)} kept and counted in full as asked")
    if empty:
        parts.append(
            f"{month_spans(empty)} {'has' if len(empty) == 1 else 'have'} no data to keep (no row loaded is dated "
            f"{'that month' if len(empty) == 1 else 'those months'}), so {'it stays' if len(empty) == 1 else 'they stay'} "
            f"out: load {'its file' if len(empty) == 1 else 'their files'} or drop {'it' if len(empty) == 1 else 'them'} "
            f"from {shown('keep_months')}"
        )
    return f"{shown('keep_months')}: " + "; ".join(parts) if parts else ""


@dataclass(frozen=True)
class CellSizeChoice:
    """The grid cell size in metres and the announcement (empty when the user gave it)."""

    cell_size: float
    note: str = ""


def choose_cell_size(xy: np.ndarray, study_area: Any = None, cell_size: float | None = None, *, crs: Any = BNG) -> CellSizeChoice:
    """The grid cell size: the given one, or the automatic rule.

    The automatic rule is :func:`hotspots.grid.auto_cell_size` (street scale: sfhotspot's 1/50
    rule capped at 500 m) on the study area's bounds, or, without a study area, on where the
    incidents are (:func:`hotspots.grid.incident_extent`, so that strays do not set it). This is
    the one place the pipeline chooses a cell size.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Incident coordinates in ``crs`` (metres).
    study_area : GeoDataFrame, shapely geometry or None
    cell_size : float or None
        Given by the user (returned as is) or None (automatic).
    crs : CRS of ``xy``.
    """
    if cell_size is not None:
        return CellSizeChoice(float(cell_size))
    if isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        bounds, where = tuple(study_area.to_crs(crs).total_bounds), "the study area"
    elif study_area is not None and hasattr(study_area, "bounds") and not isinstance(study_area, np.ndarray):
        bounds, where = tuple(study_area.bounds), "the study area"
    elif len(xy):
        bounds, where = incident_extent(xy), "where the incidents are (98 % of them on each axis)"
    else:
        raise ParameterError("there are no incidents to choose a cell size from. Load some incidents first.")
    size, note = auto_cell_size(bounds, what=where)
    return CellSizeChoice(size, note)


@dataclass(frozen=True, eq=False)
class PreparedInputs:
    """Loaded data made ready for the analysis, with every choice made on the way.

    Attributes
    ----------
    incidents : GeoDataFrame
        The incidents to analyse (after the category choice).
    study_area : GeoDataFrame or None
    settings : Settings
        The settings given, with the default before/after periods filled in from the data.
    months : tuple of two "YYYY-MM" or None
        The data's first and last month (None without dates).
    category, area : CategoryChoice, StudyAreaChoice
    referrals, tasks : GeoDataFrame or None
        Passed through.
    notes : tuple of str
        Every announcement, in order (force, CRS, category, study area, periods).
    force : hotspots.forces.Force or None
        The force (given, or named by police.uk's "Falls within"); its name is also the
        incidents' ``force`` column, which titles, captions and the sidecar read.
    crs : hotspots.projection.CRSChoice
        The analysis CRS (British National Grid, or Irish Transverse Mercator in Northern Ireland).
    """

    incidents: gpd.GeoDataFrame
    study_area: gpd.GeoDataFrame | None
    settings: Settings
    months: tuple[str, str] | None
    category: CategoryChoice
    area: StudyAreaChoice
    referrals: gpd.GeoDataFrame | None = None
    tasks: gpd.GeoDataFrame | None = None
    notes: tuple[str, ...] = ()
    force: Any = None
    crs: Any = None

    def record(self) -> dict[str, Any]:
        """What the preparation chose, for the results' sidecar (``parameters.json``): ``categories`` (the
        categories analysed, or ``"all"``) and ``notes`` (every announcement: category, study area, periods,
        months left out or kept)."""
        cats = self.category.categories
        return {"categories": "all" if cats is None else list(cats), "notes": list(self.notes)}


def check_several_places(incidents: gpd.GeoDataFrame) -> None:
    """Refuse incidents that all lie at one place (to the metre): no grid, cell size or study area helps then.

    Raises
    ------
    ParameterError
        Every incident at one location; the message counts them and says what the analysis needs.

    Examples
    --------
    >>> one = gpd.GeoDataFrame(geometry=gpd.points_from_xy([430000.2] * 3, [336000.4] * 3), crs=27700)
    >>> check_several_places(one)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hotspots._errors.ParameterError: all 3 incidents lie at one place (3 incidents at 1 distinct location): hotspot ...
    """
    if incidents is None or not len(incidents) or "geometry" not in incidents:
        return
    xy = np.round(shapely.get_coordinates(np.asarray(incidents.geometry.values)))
    if len(xy) and len(np.unique(xy, axis=0)) == 1:
        n = len(incidents)
        what = "the one incident lies" if n == 1 else f"all {n:,} incidents lie"
        raise ParameterError(
            f"{what} at one place ({n:,} incident{'s' * (n != 1)} at 1 distinct location): hotspot analysis compares "
            "places, so it needs incidents at several places; a smaller cell size or another study area cannot help. "
            "Load more data (more months, a wider area) or more crime types (the category choice), or check the "
            "coordinates (a file whose every row has one point was geocoded to a single place)."
        )


def prepare_inputs(
    incidents: gpd.GeoDataFrame,
    *,
    settings: Settings | None = None,
    boundary: gpd.GeoDataFrame | str | None = None,
    keep_holes: bool = False,
    categories: str | Sequence[str] | None = None,
    referrals: gpd.GeoDataFrame | None = None,
    tasks: gpd.GeoDataFrame | None = None,
    force: str | None = None,
    report: Any = None,
) -> PreparedInputs:
    """Every choice about the inputs, the same for the CLI and the app.

    Parameters
    ----------
    incidents : GeoDataFrame
        Loaded incidents (EPSG:27700).
    settings : Settings, optional
    boundary, keep_holes
        See :func:`choose_study_area`.
    categories
        See :func:`choose_category`.
    referrals, tasks : GeoDataFrame, optional
        Passed through to the result (in the analysis CRS).
    force : str, optional
        The force's name or police.uk id; default: police.uk's "Falls within"
        (:func:`hotspots.forces.detect_force`).
    report : LoadReport, optional
        The incidents' load report: names the monthly files read but lost for the months without data
        (:func:`choose_missing_months`) and the rows of the categories analysed dropped for no location
        (:func:`choose_category`).

    Returns
    -------
    PreparedInputs

    Raises
    ------
    ParameterError
        No incidents, or given periods that hold no month of the data (:func:`check_given_periods`).
    """
    from .forces import detect_force, far_apart_forces
    from .places import is_demo_data
    from .projection import choose_crs

    s = settings or Settings()
    if incidents is None or len(incidents) == 0:
        raise ParameterError("there are no incidents to analyse; check the input files and the filters (load report).")
    cat = choose_category(incidents, categories, report=report)
    check_several_places(cat.incidents)
    found = None if force is None and is_demo_data(incidents) else detect_force(incidents, given=force)
    # The analysis CRS: British National Grid, or Irish Transverse Mercator for Northern Ireland.
    crs = choose_crs(cat.incidents)
    inc = cat.incidents
    if inc.crs is not None and not crs.crs.equals(inc.crs):
        inc = inc.to_crs(crs.crs)
        referrals = referrals.to_crs(crs.crs) if referrals is not None and referrals.crs is not None else referrals
        tasks = tasks.to_crs(crs.crs) if tasks is not None and tasks.crs is not None else tasks
    if force is not None and found is not None:
        # the name given (the files' own force, or one of them: detect_force refuses another), and
        # that it was given, for the titles and the record (force_of)
        inc = inc.assign(force=found.name, force_source="given")
    if inc is not cat.incidents:
        cat = dataclasses.replace(cat, incidents=inc)
    area = choose_study_area(inc, boundary, keep_holes=keep_holes)
    s, start_note = choose_scheme_start(inc, s, referrals)
    check_given_periods(incidents, s)  # before anything is computed: periods with no data are an argument error
    s, period_note = choose_periods(inc, s)
    s, missing_note = choose_missing_months(incidents, s, inc, report=report)
    if period_note and s.missing_months:  # the periods' note counts the months with data, as the change does
        period_note = choose_periods(inc, s.replace(before=None, after=None), without=s.missing_months)[1]
    try:
        months: tuple[str, str] | None = month_range(inc)
    except (ParameterError, KeyError):
        months = None
    far = far_apart_forces(inc)  # also a warning of the load report; here it stays among the analysis's notes
    notes = tuple(
        n for n in (
            found.describe() if found is not None else "", f"warning: {far}" if far else "", crs.note, cat.note, area.note,
            start_note, period_note, missing_note,
        ) if n
    )
    return PreparedInputs(inc, area.area, s, months, cat, area, referrals, tasks, notes, found, crs)
