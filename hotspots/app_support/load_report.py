"""A load report as the app's data panel shows it: figures, drop reasons, notes and warnings,
with the counts of people protected (a referral file is one row per person referred)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..report import LoadReport, dropped_text
from .text import person_text

__all__ = ["APP_CHECK", "ReportView", "dropped_warning", "report_rows", "report_view"]

#: Where the app's user sees the rows dropped: the load report the warning is shown in.
APP_CHECK = "the reasons below say which rows were dropped and why: correct the file and load it again"


def dropped_warning(kind: str, report: LoadReport | None, threshold: int | None = None) -> str:
    """The Data tab's warning that most of a file's rows were dropped (:func:`hotspots.io.dropped_share_text`, as on
    the command line, with :data:`APP_CHECK` as the fix); ``""`` when not, or for a boundary or a file not read."""
    from ..io import dropped_share_text

    if report is None or kind not in ("incidents", "referrals", "tasks"):
        return ""
    return dropped_share_text(report, kind=kind, threshold=threshold, check=APP_CHECK) or ""


def report_rows(report: LoadReport) -> pd.DataFrame:
    """A load report's drops as a table: reason, rows, example rows."""
    rows = [
        {"reason": k, "rows": int(v), "examples": ", ".join(report.examples.get(k, []))}
        for k, v in sorted(report.dropped.items(), key=lambda kv: -kv[1])
    ]
    return pd.DataFrame(rows, columns=["reason", "rows", "examples"])


def _examples(reasons: pd.DataFrame, shown_rows: list[Any]) -> list[str]:
    """The example lines of each reason, kept only where the count shown is an exact number of at
    least :data:`~hotspots.report.MAX_EXAMPLES`: a list of fewer lines would tell a suppressed
    (``<5``) or hidden (``c``) count of people exactly."""
    from ..report import MAX_EXAMPLES

    return [
        ex if isinstance(v, (int, np.integer)) and int(v) >= MAX_EXAMPLES else ""
        for ex, v in zip(reasons["examples"], shown_rows)
    ]


@dataclass(frozen=True)
class ReportView:
    """A load report as the data panel shows it (see :func:`report_view`)."""

    rows_read: str
    rows_kept: str
    rows_dropped: str
    reasons: pd.DataFrame
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    help: str = ""

    @property
    def breakdown(self) -> str:
        """Rows dropped and why, worded as the command line's summary (:func:`hotspots.report.dropped_text`), with
        the counts as this view shows them: ``"dropped 14 (no location: 10; duplicate row: <5; empty row: <5)"``."""
        rows = dict(zip(self.reasons["reason"], self.reasons["rows"])) if len(self.reasons) else {}
        return dropped_text(self.rows_dropped, rows)


def report_view(report: LoadReport, *, person: bool = False, threshold: int | None = None,
                published: Mapping[str, Any] | None = None, text: Callable[[str], str] | None = None) -> ReportView:
    """The figures, drop reasons, notes and warnings of a load report, as shown on screen.

    With ``person=True`` (a referral file: one row per person referred) counts from 1 to
    ``threshold − 1`` are shown as ``"<5"``, in the figures, the reasons table and the texts, and
    a reason's example lines only when its count is shown exactly and is at least 5 (fewer lines
    would give a hidden count away);
    when any drop count is that small, the rows read (and the total dropped, when it is not
    itself small) are not shown, so that a small count cannot be worked out by subtraction.
    ``published`` (:meth:`hotspots.publication.SchemePublication.load_report` of this report, for
    the referral file in use) gives the figures and reasons as the analysis publishes them
    (``parameters.json``), protected with every other count of people: they are shown instead, and
    ``text`` (:meth:`hotspots.publication.SchemePublication.text`) gives each count the notes and warnings quote as
    the analysis publishes it (a total the KPI tables hide as "c" is not printed here either).

    What the Data tab may show of the user's own referral file: the file in use, only what the analysis publishes
    (above). A referral file not in use (it failed, or the data in use cannot take it) publishes nothing
    else that its counts could be set against, so its figures are shown as the tables' first rule has them (counts
    from 1 to ``threshold − 1`` as ``"<5"``, and not the rows read when that would give a small drop count away).
    """
    from ..privacy import SUPPRESSION_THRESHOLD, suppress_count

    t = SUPPRESSION_THRESHOLD if threshold is None else int(threshold)
    reasons = report_rows(report)
    if person and published is not None:
        said = text or str
        fig = lambda v: f"{v:,}" if isinstance(v, (int, np.integer)) else str(v)  # noqa: E731
        marks = dict(published.get("dropped") or {})
        shown_rows = [marks.get(k, "c") for k in reasons["reason"]]
        reasons = reasons.assign(rows=[fig(v) for v in shown_rows], examples=_examples(reasons, shown_rows)) \
            if len(reasons) else reasons
        return ReportView(
            fig(published["rows_read"]), fig(published["rows_kept"]), fig(published["rows_dropped"]), reasons,
            tuple(person_text(said(n), t) for n in report.notes), tuple(person_text(said(w), t) for w in report.warnings),
            help=f"Counts of people, as the analysis publishes them: <{t} a count from 1 to {t - 1}, c a count hidden so "
                 "that a small one cannot be worked out.",
        )
    if not person:
        return ReportView(
            f"{report.rows_read:,}",
            f"{report.rows_kept:,}",
            f"{report.rows_dropped:,}",
            reasons,
            tuple(report.notes),
            tuple(report.warnings),
        )
    small = lambda n: 0 < n < t  # noqa: E731
    counts = [report.rows_dropped, *report.dropped.values()]
    hide = any(small(int(n)) for n in counts)
    fmt = lambda n: str(suppress_count(int(n), t)) if small(int(n)) else f"{int(n):,}"  # noqa: E731
    if len(reasons):
        shown_rows = [int(n) if not small(int(n)) else "<" for n in reasons["rows"]]
        reasons = reasons.assign(rows=[fmt(n) for n in reasons["rows"]], examples=_examples(reasons, shown_rows))
    dropped = fmt(report.rows_dropped) if small(report.rows_dropped) or not hide else "–"
    return ReportView(
        "–" if hide else f"{report.rows_read:,}",
        fmt(report.rows_kept),
        dropped,
        reasons,
        tuple(person_text(n, t) for n in report.notes),
        tuple(person_text(w, t) for w in report.warnings),
        help=f"Counts of 1–{t - 1} referrals are shown as <{t}; totals that would reveal them are not shown." if hide else "",
    )
