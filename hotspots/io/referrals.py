"""Loader for referrals into the immediate justice scheme (person-level, pseudonymised data).

One row per referral, with the columns of :data:`hotspots.schema.REFERRAL_COLUMNS` (see
DESIGN.md section 3). Privacy rules enforced on load:

* A table with a column that looks like a name, date of birth, address, contact detail or
  national identifier (:func:`hotspots.privacy.identifying_columns`) is refused with
  :class:`~hotspots.PrivacyError`, unless the caller lists the column in
  ``allow_identifying``; the column is then **dropped on load**, never kept, and a note says so.
* ``person_ref`` values must be pseudonymous references (``p_`` + 16 hex digits,
  :data:`hotspots.privacy.PERSON_REF_PATTERN`); anything else may be a raw identifier and is
  refused, unless ``salt=`` is given, in which case such values are pseudonymised on load with
  :func:`hotspots.privacy.pseudonymise`. Error messages never repeat the values.

A referral without a location is dropped (``no location``): the programme analysis links each
referral to the hotspot it came from, which needs the place.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError, PrivacyError
from ..privacy import PERSON_REF_PATTERN, identifying_columns, postcode_columns, pseudonymise
from ..schema import ADULT_FROM_AGE, AGE_GROUPS, OFFENCES, OUTCOMES, REFERRAL_COLUMNS, ROUTES
from ..validation import shown
from ._common import content_keys, norm_key, normalise_enum, parse_bool, required, study_area_geometry, text_column
from ._dates import MONTH_FIRST_WARNING, date_order, dates
from ._incidents import check_mapping, check_present
from ._pipeline import (
    SchemeOptions,
    drop_duplicate_ids,
    guard,
    keep_unknown,
    load_scheme_tables,
    new_builder,
    note_unused_columns,
    part_frame,
    row_ids,
)
from ._read import Table, frame_or_sources
from ._types import ReferralSet
from .mixed import postcode_only_rows

__all__ = [
    "AGE_CANDIDATES", "AGE_GROUP_SYNONYMS", "DROP_IDENTIFYING_CONTROL",
    "OFFENCE_SYNONYMS", "OUTCOME_SYNONYMS", "REFERRAL_CANDIDATES", "ROUTE_SYNONYMS", "age_groups_from_ages", "load_referrals",
    "referral_columns", "unrecognised_outcomes_text", "SATISFACTION_SCALE", "SATISFACTION_SCALE_RULE", "satisfaction_scale",
]

REFERRAL_CANDIDATES: dict[str, tuple[str, ...]] = {
    "referral_id": ("referral_id", "referral_ref", "referral_number", "referral_no", "referral", "id", "ref"),
    "person_ref": ("person_ref", "person_reference", "person", "person_id", "subject_ref", "individual_ref"),
    "referred_at": (
        "referred_at", "referral_date", "date_referred", "referral_datetime", "referred_on", "referred", "date", "datetime",
    ),
    "offence": ("offence", "offense", "offence_type", "offense_type", "crime_type", "category"),
    "route": ("route", "referral_route", "disposal", "disposal_type", "pathway"),
    "age_group": ("age_group", "age_band", "agegroup", "age_category", "youth_adult", "youth_or_adult"),
    "contacted_at": ("contacted_at", "contact_date", "date_contacted", "first_contact", "first_contact_at", "contacted"),
    "task_booked_at": ("task_booked_at", "booked_at", "task_booked", "booking_date", "date_booked", "task_booking_date"),
    "outcome": ("outcome", "status", "result", "referral_outcome"),
    "task_id": ("task_id", "task_ref", "task", "task_site", "site_id"),
    "reoffended": ("reoffended", "re_offended", "reoffending", "reoffend"),
    "victim_satisfied": ("victim_satisfied", "victim_satisfaction", "satisfied"),
    "first_time_entrant": ("first_time_entrant", "fte", "first_time", "first_time_entrants"),
}

OFFENCE_SYNONYMS = {
    "asb": "anti-social behaviour",
    "antisocial behaviour": "anti-social behaviour",
    "anti social behaviour": "anti-social behaviour",
    "public order offence": "public order",
    "public order offences": "public order",
    "d and d": "drunk and disorderly",
    "d&d": "drunk and disorderly",
    "drunk & disorderly": "drunk and disorderly",
    "shoplifting": "shop theft",
    "shop lifting": "shop theft",
    "theft from shop": "shop theft",
    "theft from a shop": "shop theft",
    "theft from shops": "shop theft",
    "cannabis": "cannabis possession",
    "possession of cannabis": "cannabis possession",
    "cannabis possession": "cannabis possession",
    "criminal damage": "criminal damage",
}
ROUTE_SYNONYMS = {
    "cr": "community resolution",
    "cc": "conditional caution",
    "warning letter": "asb warning letter",
    "asb letter": "asb warning letter",
    "asbwl": "asb warning letter",
    "anti-social behaviour warning letter": "asb warning letter",
    "abc": "acceptable behaviour contract",
    "acceptable behaviour agreement": "acceptable behaviour contract",
    "aba": "acceptable behaviour contract",
    "vco": "voluntary control order",
}
#: Names of a numeric age column (years), read into ``age_group`` when the file has no age group
#: (:func:`age_groups_from_ages`); the ages themselves are never kept.
AGE_CANDIDATES = ("age", "age_years", "age_at_referral", "age_on_referral", "age_at_offence", "age_at_incident")
AGE_GROUP_SYNONYMS = {
    "young person": "youth",
    "youths": "youth",
    "juvenile": "youth",
    "child": "youth",
    "minor": "youth",
    "under 18": "youth",
    "u18": "youth",
    "adults": "adult",
    "18+": "adult",
    "over 18": "adult",
    "18 and over": "adult",
}
#: Outcome spellings schemes use, onto :data:`hotspots.schema.OUTCOMES`. ``refused`` is the
#: category of every referral that ended without the task done through the person's own doing
#: (refused, did not complete, failed, breached, non-compliant): the KPIs count it, with
#: ``withdrawn`` (ended by the police, the victim or the scheme), as concluded but not completed.
OUTCOME_SYNONYMS = {
    "complete": "completed",
    "done": "completed",
    "finished": "completed",
    "successfully completed": "completed",
    "completed successfully": "completed",
    "task completed": "completed",
    "declined": "refused",
    "refusal": "refused",
    "refused to engage": "refused",
    "did not engage": "refused",
    "not completed": "refused",
    "not complete": "refused",
    "incomplete": "refused",
    "uncompleted": "refused",
    "did not complete": "refused",
    "didn't complete": "refused",
    "dnc": "refused",
    "failed": "refused",
    "failed to complete": "refused",
    "failed to attend": "refused",
    "did not attend": "refused",
    "dna": "refused",
    "non-compliant": "refused",
    "noncompliant": "refused",
    "non-compliance": "refused",
    "not compliant": "refused",
    "breached": "refused",
    "breach": "refused",
    "ongoing": "in progress",
    "pending": "in progress",
    "open": "in progress",
    "active": "in progress",
    "in-progress": "in progress",
    "not started": "in progress",
    "booked": "in progress",
    "awaiting task": "in progress",
    "cancelled": "withdrawn",
    "canceled": "withdrawn",
    "withdrew": "withdrawn",
    "withdrawn by police": "withdrawn",
    "police withdrawn": "withdrawn",
    "withdrawn by officer": "withdrawn",
    "withdrawn by victim": "withdrawn",
    "victim withdrawn": "withdrawn",
    "victim withdrew": "withdrawn",
    "withdrawn by scheme": "withdrawn",
}
_ENUMS = {
    "offence": (OFFENCES, OFFENCE_SYNONYMS, True),
    "route": (ROUTES, ROUTE_SYNONYMS, True),
    "age_group": (AGE_GROUPS, AGE_GROUP_SYNONYMS, False),
    "outcome": (OUTCOMES, OUTCOME_SYNONYMS, False),
}
_BOOLS = ("reoffended", "victim_satisfied", "first_time_entrant")
#: A yes/no field's own words, besides true/false, yes/no, y/n, 1/0 (case, spaces and punctuation ignored).
#: A neutral answer ("neither satisfied nor dissatisfied") is not among them: it is kept as not recorded, warned.
BOOL_SYNONYMS: dict[str, dict[str, bool]] = {
    "victim_satisfied": {
        **{f"{adverb}satisfied": True for adverb in ("", "very ", "fairly ", "quite ", "somewhat ", "mostly ",
                                                     "completely ", "totally ", "extremely ", "highly ")},
        **{f"{adverb}{word}": False for adverb in ("", "very ", "fairly ", "quite ", "somewhat ", "completely ",
                                                   "totally ", "extremely ")
           for word in ("dissatisfied", "unsatisfied")},
        "not satisfied": False, "not at all satisfied": False, "not very satisfied": False, "not happy": False,
        "happy": True, "very happy": True, "unhappy": False,
    },
    "reoffended": {"reoffended": True, "re offended": True, "did not reoffend": False, "not reoffended": False,
                   "no reoffending": False},
    "first_time_entrant": {"fte": True, "first time entrant": True, "not fte": False, "not first time entrant": False},
}
#: Victim satisfaction given as a 1-5 score (a column holding whole numbers other than 0 and 1): 4-5 satisfied, 1-2 not
#: satisfied, 3 (neutral) not recorded. '1' is then the bottom of the scale, never "yes".
SATISFACTION_SCALE: dict[int, bool | None] = {1: False, 2: False, 3: None, 4: True, 5: True}
SATISFACTION_SCALE_RULE = "a 1-5 score: 4-5 read as satisfied, 1-2 as not satisfied, 3 (neutral) as not recorded"
_DATES = ("contacted_at", "task_booked_at")
_MAPPABLE = tuple(c for c in REFERRAL_COLUMNS if c != "geometry")

#: Column names that only the scheme's referral records carry (besides a person reference).
_SCHEME_ONLY = (
    "referral_id", "referral_ref", "referral_number", "referral_no", "referred_at", "referral_date", "date_referred",
    "referral_datetime", "referred_on", "referral_route", "route", "age_group", "age_band", "youth_or_adult",
    "contacted_at", "task_booked_at", "booking_date", "reoffended", "re_offended", "first_time_entrant",
    "victim_satisfied",
)


def age_groups_from_ages(ages: Any) -> tuple[pd.Series, np.ndarray]:
    """The age group of each numeric age: ``youth`` under :data:`hotspots.schema.ADULT_FROM_AGE`
    (18) years, else ``adult``.

    Parameters
    ----------
    ages : array-like
        Ages in years (numbers or numeric text; ``17.5`` is youth).

    Returns
    -------
    groups : Series of str
        ``youth``/``adult``; NA where the age is blank, not a number, below 0 or above 120.
    bad : ndarray of bool
        True where a value was given but is not a plausible age (not blank).

    Examples
    --------
    >>> g, bad = age_groups_from_ages(["14", 17.9, 18, "39", "", "x", -2])
    >>> g.fillna("-").tolist(), bad.tolist()
    (['youth', 'youth', 'adult', 'adult', '-', '-', '-'], [False, False, False, False, False, True, True])
    """
    raw = pd.Series(np.asarray(ages, dtype=object))
    blank = raw.isna() | raw.astype(str).str.strip().isin(["", "nan", "NaN", "None", "<NA>"])
    num = pd.to_numeric(raw.where(~blank), errors="coerce")
    ok = num.notna() & (num >= 0) & (num <= 120)
    groups = pd.Series(np.where(num >= ADULT_FROM_AGE, AGE_GROUPS[1], AGE_GROUPS[0]), dtype="str").where(ok, pd.NA)
    return groups, (~blank & ~ok).to_numpy(dtype=bool)


def _age_column(df: pd.DataFrame, cols: Sequence[str], group_col: str | None) -> str | None:
    """The column of numeric ages to read ``age_group`` from: the age-group column itself when all its
    values are numbers (``age_band`` holding 14, 39), else an :data:`AGE_CANDIDATES` column when the
    file has no age group; None otherwise."""
    if group_col is not None:
        given = df[group_col].dropna().astype(str).str.strip()
        given = given[given != ""]
        return group_col if len(given) and pd.to_numeric(given, errors="coerce").notna().all() else None
    keys = {norm_key(k) for k in AGE_CANDIDATES}
    return next((str(c) for c in cols if norm_key(c) in keys), None)


def _read_ages(b: Any, ages: pd.Series, col: str) -> pd.Series:
    """``age_group`` from the ages in ``col``, announced (the bands, never the ages); implausible ages are
    left not recorded and counted in a warning."""
    groups, bad = age_groups_from_ages(ages.reset_index(drop=True))
    b.note(f"`age_group` read from the ages in `{col}`: under {ADULT_FROM_AGE} is youth, {ADULT_FROM_AGE} and over "
           "adult (the ages themselves are not kept)")
    n_bad = int((bad & b.alive).sum())
    if n_bad:
        b.warn(f"{n_bad:,} row(s) with a `{col}` that is not an age in years (0 to 120): kept, with age group not recorded")
    return groups


def referral_columns(columns: Sequence[str]) -> list[str]:
    """The columns that mark a table as referral records (about people), or an empty list.

    A table is a referral table when it has a person reference (any name the referral loader
    reads as ``person_ref``: ``person_ref``, ``person_id``, ``subject_ref``, ...) or at least two
    columns only the scheme's records carry (``referral_id``, ``referred_at``, ``route``,
    ``age_group``, ``outcome`` dates, ``reoffended``, ...). The incident loaders refuse such tables:
    analysed as incidents they would publish exact counts of people per cell.
    """
    person_keys = {norm_key(k) for k in REFERRAL_CANDIDATES["person_ref"]}
    scheme_keys = {norm_key(k) for k in _SCHEME_ONLY}
    cols = [str(c) for c in columns]
    person = [c for c in cols if norm_key(c) in person_keys]
    scheme = [c for c in cols if norm_key(c) in scheme_keys]
    return person + scheme if person or len(scheme) >= 2 else []
REFERRAL_DTYPES = {
    "referral_id": "str",
    "person_ref": "str",
    "referred_at": "datetime64[ns]",
    "offence": "str",
    "route": "str",
    "age_group": "str",
    "contacted_at": "datetime64[ns]",
    "task_booked_at": "datetime64[ns]",
    "outcome": "str",
    "task_id": "str",
    "reoffended": "boolean",
    "victim_satisfied": "boolean",
    "first_time_entrant": "boolean",
}


def recoded_outcomes_note(raw: pd.Series, read: pd.Series, alive: Any = None) -> str:
    """Which of a file's outcome values were read as ``refused`` or ``withdrawn`` though spelt
    otherwise (:data:`OUTCOME_SYNONYMS`), e.g. ``'Not completed', 'Did not complete' read as 'refused' (ended
    without the task done ...)``; ``""`` when every value is a category's own name. Values only, no
    counts (they would be counts of people)."""
    r = pd.Series(raw).reset_index(drop=True).astype("string").str.strip()
    v = pd.Series(read).reset_index(drop=True).astype("string")
    ok = r.notna() & v.notna()
    if alive is not None:
        ok &= pd.Series(np.asarray(alive, dtype=bool))
    pairs = pd.DataFrame({"raw": r[ok], "read": v[ok]}).drop_duplicates()
    # a spelling of "completed" or "in progress" changes no meaning; another word for a way of ending does
    pairs = pairs[(pairs["raw"].str.casefold() != pairs["read"].str.casefold()) & pairs["read"].isin(["refused", "withdrawn"])]
    if not len(pairs):
        return ""
    why = {"refused": "ended without the task done through the person's own doing: refused, did not complete, failed",
           "withdrawn": "ended by the police, the victim or the scheme"}
    parts = []
    for cat, g in pairs.groupby("read", sort=True):
        shown = ", ".join(f"'{x}'" for x in sorted(g["raw"].unique())[:8])
        parts.append(f"{shown} read as '{cat}'" + (f" ({why[cat]})" if cat in why else ""))
    return "outcome values read as a category they mean: " + "; ".join(parts)


def date_order_warning(report: Any) -> str:
    """The load report's warning that the file's dates were read month first (US order), or ``""``.

    It quotes no count of people (an example value and its row), so a command or page that does
    not print the report's other warnings (they count rows) still says it.
    """
    return next((w for w in report.warnings if w.startswith(MONTH_FIRST_WARNING)), "")


def unrecognised_outcomes_text(report: Any, *, threshold: int | None = None) -> str:
    """What the completion rate leaves out: the referrals whose ``outcome`` was not recognised.

    Such referrals are kept with their outcome not recorded (:func:`load_referrals`), so they are
    neither completed nor concluded, and the completion rate (a share of concluded referrals) is
    worked out without them. The analysis summaries (CLI and app) say so with this text.

    Parameters
    ----------
    report : LoadReport
        The referral file's load report (its :attr:`~hotspots.report.LoadReport.unrecognised`).
    threshold : int, optional
        Counts of people from 1 to ``threshold - 1`` are shown as "fewer than 5" (default
        :data:`hotspots.privacy.SUPPRESSION_THRESHOLD`); the count per value is shown only when
        every one is at least ``threshold`` (else a small one could be worked out from the total).

    Returns
    -------
    str
        One sentence naming the values (category words, not people), or ``""`` when every outcome
        was recognised.
    """
    from ..privacy import SUPPRESSION_THRESHOLD

    t = SUPPRESSION_THRESHOLD if threshold is None else int(threshold)
    counts = {str(k): int(v) for k, v in (getattr(report, "unrecognised", {}) or {}).get("outcome", {}).items() if v}
    if not counts:
        return ""
    total = sum(counts.values())
    n = f"fewer than {t}" if total < t else f"{total:,}"
    exact = total >= t and all(v >= t for v in counts.values())
    shown = [f"{k!r} ({v:,})" if exact else repr(k) for k, v in list(counts.items())[:5]]
    more = f" and {len(counts) - 5} other value(s)" if len(counts) > 5 else ""
    return (
        f"{n} referral outcome(s) were not recognised ({', '.join(shown)}{more}) and are left out of the completion rate "
        f"(counted as outcome not recorded, neither completed nor concluded); recode them in the file as one of "
        f"{', '.join(OUTCOMES)} to count them"
    )


#: The app's control that drops identifying columns on load (``allow_identifying=True``), named by the refusal's fix.
DROP_IDENTIFYING_CONTROL = ("Drop columns that look like personal identifiers (names, dates of birth, addresses and postcodes, "
                            "phone numbers, email addresses, national identifiers)")


def satisfaction_scale(
    values: pd.Series, vals: pd.Series, bad: np.ndarray, b: Any, col: str
) -> tuple[pd.Series, np.ndarray]:
    """Read a satisfaction column holding a 1-5 score (:data:`SATISFACTION_SCALE`) instead of yes/no.

    Parameters
    ----------
    values : Series
        The column as read.
    vals, bad
        Its reading as yes/no (``parse_bool``): booleans, and the mask of unrecognised values.
    b : ReportBuilder
        Told the rule (a warning with each score's number of rows) when the column is a scale.
    col : str
        The column's name, for the warning.

    Returns
    -------
    vals, bad
        Unchanged unless some value is a whole number from 2 to 5: then every whole number 1-5 is read on the
        scale (3 not recorded) and 0 is unrecognised (not on the scale); words (yes/no) keep their reading.
    """
    text = pd.Series(values).reset_index(drop=True).astype("str").str.strip()
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(num) & (num == np.round(num))
    if not (whole & (num >= 2) & (num <= 5)).any():
        return vals, bad
    vals = vals.copy()
    bad = np.asarray(bad, dtype=bool).copy()
    counts = []
    for score, reading in SATISFACTION_SCALE.items():
        on = whole & (num == score)
        if on.any():
            vals[on] = pd.NA if reading is None else reading
            bad[on] = False
            counts.append(f"{score}: {int(on.sum()):,} row(s)")
    zero = whole & (num == 0)
    vals[zero] = pd.NA
    bad[zero] = True
    b.warn(f"`{col}` holds scores ({'; '.join(counts)}): read as {SATISFACTION_SCALE_RULE}; '1' is not read as yes. "
           "If the column means yes/no, recode it in the file as yes/no")
    return vals, bad


def _privacy(table: Table, allow: set[str] | bool) -> Table:
    found = identifying_columns(table.frame.columns)
    for col in postcode_columns(table.frame):  # a postcode is personal data next to a referral, whatever its column's name
        found.setdefault(col, "UK postcodes in its values")
    refused = {} if allow is True else {c: k for c, k in found.items() if c not in allow}
    if refused:
        what = ", ".join(f"`{c}` ({k})" for c, k in refused.items())
        raise PrivacyError(
            f"{table.name} has column(s) that look like personal identifiers: {what}. Referral data must not "
            f"hold names, dates of birth, addresses or contact details. {drop_identifying_fix(sorted(refused))}"
        )
    dropped = [c for c in found if allow is True or c in allow]
    if dropped:
        frame = table.frame.drop(columns=dropped)
        t = dataclasses.replace(table, frame=frame, notes=list(table.notes))  # every other field kept (blank lines too)
        how = f'"{DROP_IDENTIFYING_CONTROL}" in the app, `allow_identifying=True`' if allow is True else shown(
            "allow_identifying")
        cols_ = ", ".join(f"`{c}`" for c in dropped)
        t.notes.append(f"dropped identifying column(s) {cols_} on load ({how}); they were not kept")
        return t
    return table


def drop_identifying_fix(columns: Sequence[str]) -> str:
    """The fix for identifying-looking ``columns``, for where the user is: on the command line
    (inside :func:`hotspots.validation.argument_names` mapping ``allow_identifying`` to a flag) the
    flag once per column; elsewhere (the app, Python) removing them from the file, and in Python
    ``allow_identifying=``."""
    flag = shown("allow_identifying").strip("`")
    if flag != "allow_identifying":
        words = " ".join(f"{flag} {shlex.quote(str(c))}" for c in columns)
        return f"Remove the column(s) from the file, or add `{words}` to the command to drop them on load (they are never kept)."
    return (
        f'Remove the column(s) from the file and load it again, or tick "{DROP_IDENTIFYING_CONTROL}" by the referral upload '
        f"in the app (in Python, `allow_identifying={list(columns)!r}` or `allow_identifying=True`) to drop them on load "
        "instead; they are never kept."
    )


def person_ref_fix() -> str:
    """How to make ``person_ref`` values pseudonymous, for where the user is (see :func:`drop_identifying_fix`)."""
    how = (
        "Replace each value in the file with a pseudonymous reference: 'p_' + 16 hex digits, the same for every "
        "referral of one person (e.g. `hotspots.privacy.pseudonymise(value, salt)`: HMAC-SHA256 with a secret salt of "
        "at least 16 characters held by the force)"
    )
    if shown("salt") == "`salt`" and shown("allow_identifying") == "`allow_identifying`":  # not the command line
        return f"{how}; in Python, `salt=` pseudonymises them on load instead."
    return f"{how}, then load the file again."


def _person_refs(table: Table, col: str | None, salt: str | None, b: Any) -> pd.Series:
    refs = text_column(table.frame, col)
    if col is None:
        b.note("no `person_ref` column; repeat referrals of one person cannot be counted")
        return refs
    present = refs.notna().to_numpy()
    ok = refs.fillna("").str.match(PERSON_REF_PATTERN.pattern).to_numpy(dtype=bool, na_value=False)
    # the rule is 'p_' + 16 hex digits; hex written in upper case (P_A493...) is the same reference
    upper = present & ~ok & refs.fillna("").str.fullmatch(PERSON_REF_PATTERN.pattern, case=False).to_numpy(dtype=bool)
    if upper.any():
        refs = refs.where(~pd.Series(upper, index=refs.index), refs.str.lower())
        ok = ok | upper
        b.note(f"{int(upper.sum()):,} `{col}` value(s) written in upper case read in lower case ('p_' + 16 hex digits)")
    raw = present & ~ok
    if raw.any():
        rows = ", ".join(str(int(r)) for r in np.asarray(table.row_numbers)[raw][:5])
        if salt is None:
            raise PrivacyError(
                f"{table.name}: {int(raw.sum()):,} `{col}` value(s) (e.g. {table.unit}s {rows}) are not pseudonymous references "
                f"('p_' + 16 hex digits) and may be raw identifiers. {person_ref_fix()}"
            )
        try:
            hashed = [pseudonymise(v, salt) for v in refs[raw].tolist()]
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        refs = refs.astype(object)
        refs[raw] = hashed
        refs = refs.astype("str").where(pd.Series(present), other=pd.NA)
        b.note(f"{int(raw.sum()):,} `{col}` value(s) pseudonymised on load with the given `salt` (HMAC-SHA256)")
    return refs


@guard
def load_referrals(
    path_or_frame: Any,
    *,
    columns: dict[str, str] | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: Any = "auto",
    swap_xy: bool = False,
    study_area: Any = None,
    drop_outside: bool = False,
    allow_identifying: Sequence[str] | bool | None = None,
    salt: str | None = None,
    layer: Any = None,
    skip_bad_files: bool = True,
) -> ReferralSet:
    """Load referrals into the scheme, in British National Grid.

    Parameters
    ----------
    path_or_frame : path, Upload, file object, list, or DataFrame
        CSV, Parquet, GeoPackage or GeoJSON (as for :func:`load_incidents`).
    columns : dict, optional
        ``{canonical name: your column}`` for any of ``REFERRAL_COLUMNS`` (and ``x``, ``y``).
        Unmapped columns are found by name.
    x, y, crs, swap_xy, study_area, drop_outside, layer, skip_bad_files
        As for :func:`load_incidents`.
    allow_identifying : list of str or True, optional
        Identifying-looking columns to drop on load instead of refusing the file; True drops every
        column :func:`hotspots.privacy.identifying_columns` finds (the app's
        :data:`DROP_IDENTIFYING_CONTROL`). A note names the columns dropped.
    salt : str, optional
        Secret (>= 16 characters) used to pseudonymise ``person_ref`` values that are not yet
        pseudonymous. Without it such values raise PrivacyError.

    Returns
    -------
    ReferralSet
        ``data, report``; ``data`` has ``REFERRAL_COLUMNS`` (datetimes ``datetime64[ns]``,
        enums as the canonical lower-case labels of :mod:`hotspots.schema`, booleans as pandas
        nullable ``boolean``), plus ``in_study_area`` when a study area is given.

    Notes
    -----
    Required: ``referred_at``, ``offence``, ``route`` and a location. Optional columns that are
    absent are added empty (noted); columns not read are named in a note. Drop reasons:
    ``malformed row``, ``empty row`` (every field blank), ``missing date``, ``unparseable date``,
    ``date out of range``, ``no location``,
    ``unparseable coordinates``, ``out-of-range coordinates``, ``duplicate row`` (an exact copy of
    the row kept for its ``referral_id``), ``duplicate id`` (a ``referral_id``
    repeated in a file keeps its **last** row, the export's update; a warning counts the dropped
    rows that differ from it), ``outside study area``. Dates written as Excel serial day numbers
    are read (with a warning); referral dates after today are warned about. An unparseable or
    out-of-range ``contacted_at`` or ``task_booked_at`` keeps the referral with that field blank,
    counted in a warning. Numeric dates (``10/03/2025``) are read in one day/month order per
    file, decided from the values (:func:`~hotspots.io._dates.date_order`): a file whose dates
    can only be month first is read so (warned); evidence both ways raises SchemaError. Enum values are
    matched ignoring case, spaces and punctuation, with common synonyms (``ABC``, ``VCO``,
    ``CR``, ``shoplifting``, ``did not complete``, ...: see ``ROUTE_SYNONYMS``,
    ``OUTCOME_SYNONYMS`` etc.).
    A blank or unrecognised value of a category (offence, route, age group, outcome) or a yes/no
    field keeps the referral with that field not recorded (missing), with a warning naming each
    value and its number of rows: the person is still counted in every figure.
    """
    mapping = check_mapping(columns, _MAPPABLE + ("x", "y"))
    if not (allow_identifying is None or allow_identifying is True or allow_identifying is False
            or (isinstance(allow_identifying, Sequence) and not isinstance(allow_identifying, str))):
        raise ParameterError(f"`allow_identifying` must be a list of column names or True; got {allow_identifying!r}.")
    allow: set[str] | bool = True if allow_identifying is True else {str(c) for c in allow_identifying or []}
    if salt is not None and (not isinstance(salt, str) or len(salt) < 16):
        raise ParameterError("`salt` must be a secret string of at least 16 characters.")
    area_geom, _ = study_area_geometry(study_area)
    options = SchemeOptions(mapping, x, y, crs, swap_xy, area_geom, drop_outside, layer, skip_bad_files)
    items, skipped = frame_or_sources(path_or_frame)

    def one(index: int, table: Table) -> tuple[pd.DataFrame, Any]:
        postcodes = postcode_only_rows(table.frame)  # before a postcode column is dropped as identifying
        table = _privacy(table, allow)
        check_present(table, mapping)
        cols, found, xy = options.match_columns(table, _MAPPABLE, REFERRAL_CANDIDATES)
        required(found, ("referred_at", "offence", "route"), cols, table.name)
        df = table.frame
        age_col = _age_column(df, cols, found["age_group"])
        absent = [k for k in _MAPPABLE if found[k] is None and k not in ("referral_id", "person_ref")
                  and not (k == "age_group" and age_col)]
        b = new_builder(table)
        if absent:
            b.note(f"optional column(s) absent, left empty: {', '.join(absent)}")
        note_unused_columns(b, cols, {**found, "age": age_col, **options.coordinate_columns(table, xy)}, xy)
        n = len(df)
        refs = _person_refs(table, found["person_ref"], salt, b)
        ids = row_ids(
            df,
            found["referral_id"],
            "ref-",
            b,
            "referrals without a `referral_id` got stable ids: 'ref-' + a hash of the row and its occurrence",
        )
        # one day/month order for the file's dates, from their values (a US export is read as such, and said)
        us = date_order(table, b, [found[k] for k in ("referred_at", *_DATES) if found[k]])
        referred, referred_occ = dates(table, b, found["referred_at"], month_column=False, month_first=us)
        values: dict[str, Any] = {"referral_id": ids, "person_ref": refs}
        # A month-only referral date keeps the first of the month (noted).
        month_only = referred_occ.isna() & referred.notna()
        if month_only.any():
            b.note("some `referred_at` values give only a month; the first of the month is used")
        values["referred_at"] = referred_occ.where(~month_only, referred)
        for key, (labels, syn, is_required) in _ENUMS.items():
            col = found[key]
            if key == "age_group" and age_col:  # numeric ages: their groups, never the ages
                values[key] = _read_ages(b, df[age_col], age_col)
                continue
            if col is None:
                values[key] = pd.Series([pd.NA] * n, dtype="str")
                continue
            vals, blank, unknown, ex = normalise_enum(df[col], labels, syn)
            n_blank = int((blank & b.alive).sum())
            if is_required and n_blank:  # the column is required; a referral without its value is still a referral
                b.warn(f"{n_blank:,} row(s) without a `{col}` value: kept, with {key} not recorded")
            keep_unknown(b, df[col].reset_index(drop=True), unknown, key, col, f"allowed: {', '.join(labels)}")
            values[key] = vals
            if key == "outcome":  # other spellings read as a category are said (no counts: they are people)
                if recoded := recoded_outcomes_note(df[col], vals, b.alive):
                    b.warn(recoded)
        for key in _DATES:
            col = found[key]
            if col is None:
                values[key] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
                continue
            _, occ = dates(table, b, col, month_column=False, label=key, required=False, month_first=us)
            values[key] = occ
        for key in _BOOLS:
            col = found[key]
            if col is None:
                values[key] = pd.Series([pd.NA] * n, dtype="boolean")
                continue
            vals, bad, ex = parse_bool(df[col], BOOL_SYNONYMS.get(key))
            if key == "victim_satisfied":
                vals, bad = satisfaction_scale(df[col], vals, bad, b, col)
            keep_unknown(b, df[col].reset_index(drop=True), bad, key, col, "use true/false, yes/no, 1/0 or blank")
            values[key] = vals
        values["task_id"] = text_column(df, found["task_id"] or None)
        loc = options.locate(table, b, xy, postcode_rows=postcodes)
        drop_duplicate_ids(b, ids.to_numpy(dtype=object), what="`referral_id`", keep="last", content=content_keys(df),
                           copies=True)
        early = (values["contacted_at"] < values["referred_at"]).fillna(False).to_numpy(dtype=bool) & b.alive
        if early.any():
            b.warn(f"{int(early.sum()):,} referral(s) have `contacted_at` before `referred_at`; check the dates")
        today = pd.Timestamp.now().normalize()
        future = (values["referred_at"] >= today + pd.Timedelta(days=1)).fillna(False).to_numpy(dtype=bool) & b.alive
        if future.any():
            first = int(np.asarray(table.row_numbers)[future][0])  # one line: a list would tell how many
            b.warn(f"{int(future.sum()):,} referral(s) have a `{found['referred_at']}` after today ({today:%Y-%m-%d}), e.g. "
                   f"{table.unit} {first}: kept; check the dates (a wrong year, or day and month swapped)")
        return part_frame(index, table, b, loc, values), b.build()

    data, report, params = load_scheme_tables(
        items,
        skipped,
        one,
        options,
        loader="referrals",
        id_col="referral_id",
        columns=REFERRAL_COLUMNS,
        dtypes=REFERRAL_DTYPES,
        allow_identifying=True if allow is True else sorted(allow),
        pseudonymised_on_load=salt is not None,
    )
    return ReferralSet(data, report, params)
