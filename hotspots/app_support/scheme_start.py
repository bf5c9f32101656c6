"""The sidebar's scheme start: the before and after periods it sets, by the command line's rule.

``hotspots analyse --scheme-start`` chooses the before/after periods with
:func:`hotspots.periods.default_periods` (through :func:`hotspots.preparation.choose_periods`); the app's
scheme-start box sets its two period sliders by the same function on the same months (one rule, one place).
The sliders stay free to move afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .._errors import ParameterError
from ..periods import as_date, default_periods

__all__ = ["SchemeStartChoice", "scheme_start_choice", "scheme_start_bounds", "notes_with_scheme_start", "notes_for_scheme_start"]

#: How the notes about the scheme start and the periods it chose begin (:mod:`hotspots.preparation`, :mod:`hotspots.periods`).
SCHEME_NOTE_STARTS = ("scheme start:", "before/after periods:")


class SchemeStartChoice(NamedTuple):
    """What a scheme start typed in the sidebar sets (:func:`scheme_start_choice`).

    Attributes
    ----------
    scheme_start : str or None
        The scheme start as ``Settings.scheme_start`` takes it (``"YYYY-MM-DD"``), None when none is given.
    start : dict
        The sliders' starting values (``before``, ``after`` replaced when the scheme start was changed).
    tag : str
        Added to the period sliders' keys: a new scheme start makes new sliders starting at its periods
        ("" while the data's own scheme start, or none, is kept).
    note : str or None
        How the periods were chosen (:class:`hotspots.periods.PeriodChoice`'s note), or why they were not.
    """

    scheme_start: str | None
    start: dict[str, Any]
    tag: str
    note: str | None


def scheme_start_choice(months: Sequence[str], default: str | None, start: Mapping[str, Any], day: Any,
                        without: Sequence[str] = ()) -> SchemeStartChoice:
    """The scheme start ``day`` (a date, or None for none) and the periods it sets on the data's ``months``.

    Parameters
    ----------
    months : sequence of str
        The data's months, ``"YYYY-MM"``, first to last (the period sliders' choices).
    default : str or None
        The data's own scheme start (``DataBundle.defaults.scheme_start``: given, the first referral's day or the
        demo's), ``"YYYY-MM-DD"``.
    start : mapping
        The sliders' starting values (:func:`hotspots.app_support.url_defaults`), kept while ``day`` is ``default``.
    day : date, str or None
        The date in the box.
    without : sequence of str
        The months without data (``Settings.missing_months``), counted out in the note as the change counts them.
    """
    iso = None if day is None or day == "" else as_date(day, "scheme_start").isoformat()
    kept = None if default is None else as_date(default, "scheme_start").isoformat()
    if iso == kept:
        return SchemeStartChoice(iso, dict(start), "", None)
    try:
        choice = default_periods(months[0], months[-1], iso, without=without)
    except (ParameterError, IndexError) as exc:  # a single month: nothing to compare, the sliders stay
        return SchemeStartChoice(iso, dict(start), "", f"before/after periods not set from the scheme start: {exc}")
    new = {**start, "before": tuple(choice.before), "after": tuple(choice.after)}
    return SchemeStartChoice(iso, new, f"-{iso or 'none'}", choice.note)


def scheme_start_bounds(months: Sequence[str]) -> tuple[dt.date, dt.date]:
    """The dates the scheme-start box offers: from 10 years before the data's first month to 10 years after its
    last (a scheme may start before the data or after them; the periods then follow the data's months)."""
    first, last = as_date(f"{months[0]}-01"), as_date(f"{months[-1]}-01")
    return first.replace(year=first.year - 10), last.replace(year=last.year + 10)


def notes_with_scheme_start(notes: Sequence[str], note: str | None) -> tuple[str, ...]:
    """The data's notes with those about the scheme start and the periods it chose replaced by ``note``, the periods a
    scheme start typed in the sidebar chose (:attr:`SchemeStartChoice.note`); the notes unchanged when ``note`` is None.
    The Analyst tab said "no scheme start was given" beside periods set from one."""
    if note is None:
        return tuple(notes)
    at = next((i for i, n in enumerate(notes) if n.startswith(SCHEME_NOTE_STARTS)), len(notes))
    kept = [n for n in notes if not n.startswith(SCHEME_NOTE_STARTS)]
    return (*kept[:at], note, *kept[at:])


def notes_for_scheme_start(notes: Sequence[str], months: Sequence[str], default: str | None,
                           scheme_start: Any, without: Sequence[str] = ()) -> tuple[str, ...]:
    """The data's ``notes`` as they read for the scheme start in use (``Settings.scheme_start``): the note on the
    before/after periods replaced by the one :func:`scheme_start_choice` gives when ``scheme_start`` is not the data's
    own ``default``; unchanged otherwise. The one rule for every surface that lists the notes (the Data tab, the
    Analyst tab, the downloads' ``parameters.json``): the Data tab said "no scheme start was given" beside periods set
    from one in the sidebar.

    Parameters
    ----------
    notes : sequence of str
        The data's notes (``DataBundle.notes`` or ``PreparedInputs.notes``).
    months : sequence of str
        The data's months, ``"YYYY-MM"``, first to last.
    default : str or None
        The data's own scheme start, ``"YYYY-MM-DD"``.
    scheme_start : date, str or None
        The scheme start in use.
    """
    return notes_with_scheme_start(notes, scheme_start_choice(months, default, {}, scheme_start, without).note)
