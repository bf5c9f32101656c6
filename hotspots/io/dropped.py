"""A loud warning when most of a file's rows were dropped on load.

A load goes on however many rows it drops (no location, unparseable dates, ids repeated ...): the
figures then describe the rows kept only, which the load report's counts say but no one reads. The
command line and the app both warn with :func:`dropped_share_text` (one rule, one place).

A referral file's rows are people: its warning gives the share dropped only in coarse bands ("more than
half", "more than 90 %"), never a count or an exact percentage, and only where the band cannot narrow a
count of people below the suppression threshold (see :func:`dropped_share_text`).
"""

from __future__ import annotations

from typing import Any

from .._errors import ParameterError
from ..report import NOT_PEOPLE

__all__ = ["CHOSEN_DROPS", "dropped_share_text"]

#: Drop reasons that are the user's own choice, not rows lost: a category or months not asked for, rows
#: outside the study area when ``drop_outside`` was asked. They, the rows that were never a record
#: (:data:`hotspots.report.NOT_PEOPLE`: blank rows, exact copies) and a file that copies another
#: (``copy of <file> ...``, warned about by the loader) are left out of the share dropped.
CHOSEN_DROPS = ("category not selected", "month outside range", "outside study area")


def _lost(reason: str) -> bool:
    return reason not in NOT_PEOPLE and reason not in CHOSEN_DROPS and not reason.startswith("copy of ")


_WHAT = {
    "incidents": ("incident rows", "the hotspots are found from the rows kept only"),
    "referrals": ("referral file's rows", "the scheme's figures describe the referrals kept only"),
    "tasks": ("task-site rows", "the sites dropped are left out of the reparation figures"),
}


def dropped_share_text(report: Any, *, kind: str, threshold: int | None = None, check: str | None = None) -> str | None:
    """A warning when more than half of a file's rows were dropped on load, else None.

    Parameters
    ----------
    report : LoadReport
        The file's load report (its ``rows_kept`` and ``dropped`` by reason).
    kind : {"incidents", "referrals", "tasks"}
        What the file holds. Referrals are people: see Notes.
    threshold : int, optional
        The suppression threshold of the referral figures (default
        :data:`hotspots.privacy.SUPPRESSION_THRESHOLD`); only used for ``kind="referrals"``.
    check : str, optional
        How to look at the rows dropped, where the user is, e.g. "check the file with `hotspots load
        --report data.csv`"; default: the file's load report.

    Returns
    -------
    str or None
        E.g. "more than half of the referral file's rows were dropped (mostly: no location): the scheme's
        figures describe the referrals kept only; check ...". None when at most half were dropped.

    Notes
    -----
    The share is of the rows that were records: rows dropped as blank or exact copies
    (:data:`~hotspots.report.NOT_PEOPLE`), as a copied file's or by the user's choice
    (:data:`CHOSEN_DROPS`) count neither as dropped nor as read. Incident and task-site files
    (places, not people) give the share as a whole percentage and the main reasons with their rows.

    For a referral file of ``n`` such rows, with threshold ``t``: "more than half" is said only when
    ``n >= 2 t`` and "more than 90 %" only when ``n >= 10 t``, so that each band (and the absence of
    a warning) leaves at least ``t`` possible counts of referrals kept; a smaller file gets no
    warning (its rows read could tell a small count kept). A reason is named only when it dropped at
    least ``t`` rows, up to two, largest first; no count or exact percentage is given.

    Examples
    --------
    >>> from hotspots.report import LoadReport
    >>> r = LoadReport("a.csv", 100, 30, {"no location": 65, "missing date": 5})
    >>> print(dropped_share_text(r, kind="incidents", check="see the report"))
    70 % of the incident rows were dropped (no location: 65; missing date: 5): the hotspots are found from the rows kept \
only; see the report
    >>> print(dropped_share_text(r, kind="referrals", check="see the report"))
    more than half of the referral file's rows were dropped (mostly: no location; missing date): the scheme's figures \
describe the referrals kept only; see the report
    >>> dropped_share_text(LoadReport("a.csv", 100, 60, {"no location": 40}), kind="referrals") is None
    True
    """
    if kind not in _WHAT:
        raise ParameterError(f"`kind` must be one of {', '.join(map(repr, _WHAT))}; got {kind!r}.")
    lost = {str(k): int(v) for k, v in (report.dropped or {}).items() if _lost(str(k)) and int(v) > 0}
    n_lost = sum(lost.values())
    n = int(report.rows_kept) + n_lost
    if n == 0 or 2 * n_lost <= n:
        return None
    what, effect = _WHAT[kind]
    main = sorted(lost.items(), key=lambda kv: (-kv[1], kv[0]))
    if kind == "referrals":
        from ..privacy import SUPPRESSION_THRESHOLD

        t = SUPPRESSION_THRESHOLD if threshold is None else int(threshold)
        if n < 2 * t:
            return None
        band = "more than 90 %" if n >= 10 * t and 10 * n_lost > 9 * n else "more than half"
        named = [k for k, v in main if v >= t][:2]
        why = f"mostly: {'; '.join(named)}" if named else "for several reasons"
    else:
        pct = 100 * n_lost / n  # never "50 %" for more than half, nor "100 %" with rows kept
        band = f"{pct:.0f} %" if 50.5 <= pct < 99.5 or pct == 100 else f"{pct:.1f} %"
        why = "; ".join(f"{k}: {v:,}" for k, v in main[:3]) + ("; ..." if len(main) > 3 else "")
    fix = check or "check the file's load report (the rows dropped by reason, with example rows)"
    return f"{band} of the {what} were dropped ({why}): {effect}; {fix}"
